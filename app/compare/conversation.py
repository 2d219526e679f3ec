"""A Compare session: the chosen models, and each column's own conversation turn by turn."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from app.compare.model_picker import parse_ref
from app.compare.runner import DONE, ColumnRequest, ColumnState, CompareRun

NO_TOOL_RESULT = "(The playground does not run tools, so there is no result for this call.)"
TOOL_RESULT_PREFIX = "tool-result::"


def tool_result_key(column: int, call_id: str) -> str:
    """Session-state key of the box where the user types a tool call's result."""
    return f"{TOOL_RESULT_PREFIX}{column}::{call_id}"


def typed_tool_results(session: Any) -> dict[tuple[int, str], str]:
    """``{(column, call id): text}`` typed into the tool-result boxes (empty boxes left out)."""
    found: dict[tuple[int, str], str] = {}
    for key in list(session.keys()):
        if isinstance(key, str) and key.startswith(TOOL_RESULT_PREFIX):
            column, _, call_id = key[len(TOOL_RESULT_PREFIX) :].partition("::")
            text = session[key]
            if column.isdigit() and isinstance(text, str) and text.strip():
                found[(int(column), call_id)] = text
    return found


EXAMPLE_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
                "required": ["city"],
            },
        },
    }
]


@dataclass
class ColumnParams:
    """Per-column options (None means the model's default)."""

    temperature: float | None = None
    max_tokens: int | None = None
    thinking: str = "auto"
    """``auto`` (send nothing), ``on`` or ``off``."""

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.temperature is not None:
            options["temperature"] = float(self.temperature)
        if self.max_tokens:
            options["max_tokens"] = int(self.max_tokens)
        if self.thinking in ("on", "off"):
            options["thinking"] = self.thinking == "on"
        return options

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ColumnParams:
        thinking = options.get("thinking")
        return cls(
            temperature=options.get("temperature"),
            max_tokens=options.get("max_tokens"),
            thinking="auto" if thinking is None else ("on" if thinking else "off"),
        )


@dataclass
class Turn:
    prompt: str
    user_message: dict[str, Any]
    run: CompareRun


@dataclass
class Conversation:
    refs: list[str]
    """``backend/model`` per column."""
    system_prompt: str = ""
    base: list[list[dict[str, Any]]] = field(default_factory=list)
    """Per column: messages before the first turn shown (a conversation reopened from history)."""
    turns: list[Turn] = field(default_factory=list)
    tool_results: dict[tuple[int, str], str] = field(default_factory=dict)
    """Results the user typed for tool calls, by ``(column, call id)`` (the playground runs no tool)."""

    def __post_init__(self) -> None:
        if not self.base:
            self.base = [[] for _ in self.refs]

    @property
    def current(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    @property
    def running(self) -> bool:
        return self.current is not None and not self.current.run.finished

    def history(self, column: int, upto: int | None = None) -> list[dict[str, Any]]:
        """Column ``column``'s messages (no system prompt) after turns ``[:upto]``; failed turns leave no trace."""
        messages = list(self.base[column])
        for turn in self.turns[:upto]:
            state = turn.run.states[column]
            if state.reply is None:
                continue
            messages.append(turn.user_message)
            messages.append(state.reply)
            for call in (state.reply.get("tool_calls") or []) if state.status == DONE else []:
                result = self.tool_results.get((column, call.get("id", ""))) or NO_TOOL_RESULT
                messages.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": result})
        return messages

    def requests(self, user_message: dict[str, Any], params: list[ColumnParams], tools: list[dict[str, Any]] | None) -> list[ColumnRequest]:
        """What each column sends for a new turn: system prompt, its own history, the new message."""
        requests = []
        for i, ref in enumerate(self.refs):
            backend, model = parse_ref(ref)
            messages = ([{"role": "system", "content": self.system_prompt}] if self.system_prompt.strip() else []) + self.history(i)
            options = params[i].options() if i < len(params) else {}
            if tools:
                options["tools"] = tools
            requests.append(ColumnRequest(backend, model, [*messages, user_message], options))
        return requests

    @property
    def parent_id(self) -> str | None:
        return self.current.run.id if self.current else None


def user_message(text: str, images: list[tuple[str, bytes]] | None = None) -> dict[str, Any]:
    """An OpenAI-format user message; ``images`` are ``(mime type, bytes)`` sent as data URLs."""
    if not images:
        return {"role": "user", "content": text}
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for mime, data in images:
        url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return {"role": "user", "content": parts}


def message_text(message: dict[str, Any]) -> str:
    """The text of a message (image parts become ``[image]``)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                pieces.append(str(part.get("text", "")))
            elif isinstance(part, dict):
                pieces.append("[image]")
        return "\n".join(pieces)
    return ""


def image_count(message: dict[str, Any]) -> int:
    content = message.get("content")
    return sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url") if isinstance(content, list) else 0


def parse_tools(text: str) -> list[dict[str, Any]]:
    """Tools from JSON text: a list of OpenAI tool definitions (raises ``ValueError`` naming the problem)."""
    if not text.strip():
        return []
    try:
        tools = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"tools are not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if isinstance(tools, dict):
        tools = [tools]
    if not isinstance(tools, list):
        raise ValueError("tools must be a JSON list of tool definitions")
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not function.get("name"):
            raise ValueError(f'tools[{i}] must look like {{"type": "function", "function": {{"name": ..., "parameters": {{...}}}}}}')
        tool.setdefault("type", "function")
    return tools


def restored_state(result: Any, tool_calls: list[dict[str, Any]], reply: dict[str, Any] | None) -> ColumnState:
    """A column's finished state rebuilt from a stored history result."""
    usage = None
    if result.prompt_tokens is not None or result.completion_tokens is not None:
        usage = {
            "prompt_tokens": result.prompt_tokens or 0,
            "completion_tokens": result.completion_tokens or 0,
            "total_tokens": (result.prompt_tokens or 0) + (result.completion_tokens or 0),
            "cached_tokens": result.cached_tokens or 0,
            "reasoning_tokens": result.reasoning_tokens or 0,
        }
    return ColumnState(
        backend=result.backend,
        model=result.model,
        status=result.status if result.status != "running" else "partial",
        content=result.content or "",
        reasoning=result.reasoning or "",
        tool_calls=tool_calls,
        usage=usage,
        usage_estimated=bool(result.usage_estimated),
        cost=result.cost_usd,
        endpoint_id=result.endpoint_id,
        finish_reason=result.finish_reason,
        error_type=result.error_type,
        error_message=result.error_message,
        ttft=result.ttft_s,
        total=result.total_s,
        reply=reply,
        request_report=json.loads(result.parameters or "{}").get("request_report"),
    )


def from_history(view: Any) -> tuple[Conversation, list[ColumnParams], list[dict[str, Any]]]:
    """A stored run reopened into Compare: its models, each column's conversation, params and tools."""
    refs: list[str] = []
    base: list[list[dict[str, Any]]] = []
    states: list[ColumnState] = []
    params: list[ColumnParams] = []
    system_prompt = view.run.system_prompt or ""
    last_user: dict[str, Any] = {"role": "user", "content": view.run.user_prompt}
    for r in view.results:
        refs.append(f"{r.result.backend}/{r.result.model}")
        messages = [m for m in r.messages if m.get("role") != "system"]
        user_index = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
        if user_index is None:
            base.append([])
            reply = None
        else:
            base.append(messages[:user_index])
            last_user = messages[user_index]
            after = messages[user_index + 1 :]
            reply = after[0] if after and after[0].get("role") == "assistant" else None
        if reply is None and r.result.content:
            reply = {"role": "assistant", "content": r.result.content}
        states.append(restored_state(r.result, r.tool_calls, reply))
        states[-1].params = {k: v for k, v in r.parameters.items() if k not in ("backend", "model") and v is not None}
        params.append(ColumnParams.from_options(r.parameters))
    meta = {"user_prompt": view.run.user_prompt, "system_prompt": system_prompt, "restored": True}
    run = CompareRun.restored(states, run_id=view.run.id, meta=meta)
    conversation = Conversation(refs=refs, system_prompt=system_prompt, base=base, turns=[Turn(view.run.user_prompt, last_user, run)])
    tools = view.parameters.get("tools") or []
    return conversation, params, tools
