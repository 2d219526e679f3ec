"""Anthropic Messages API shapes, as pure functions.

OpenAI-format messages, tools and tool_choice in → Anthropic ``system`` + ``messages`` + ``tools``;
Anthropic responses out → vv-llm's types. Shared by the Anthropic, Vertex-Anthropic and Bedrock
adapters and by ``format_messages``. Nothing here does I/O or mutates its arguments.
"""

from __future__ import annotations

import json
from typing import Any

from vv_llm.chat_clients.adapters.base import CallParams
from vv_llm.chat_clients.schemas import moved_to_description, recursive_ref, rewrite_schema
from vv_llm.errors import InvalidRequestError
from vv_llm.types.messages import ChatCompletionMessage, FunctionCall, ToolCall, Usage
from vv_llm.utilities.media import image_url_value, inline_file, is_remote
from vv_llm.utilities.messages import tool_arguments

EPHEMERAL: dict[str, str] = {"type": "ephemeral"}
MAX_CACHE_BREAKPOINTS = 4
"""Anthropic accepts at most four ``cache_control`` blocks per request."""
MIN_THINKING_BUDGET = 1024
DEFAULT_THINKING_BUDGET = 2048
EFFORT_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
ADAPTIVE_EFFORTS = {"minimal": "low", "xhigh": "max"}
"""``reasoning_effort`` values Anthropic spells differently (low, medium, high and max pass as they are)."""
ADAPTIVE_THINKING_ROOM = 16384
"""Added to the default ``max_tokens`` when adaptive thinking is on and the caller gives none."""
DEFAULT_MAX_TOKENS_CAP = 8192
"""``max_tokens`` when the caller gives none: the model's output limit, capped at this."""
FALLBACK_MAX_TOKENS = 4096
"""``max_tokens`` when neither the caller nor the model's settings give one."""
THINKING_BLOCK_TYPES = ("thinking", "redacted_thinking")

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_TOOL_CHOICES = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}, "any": {"type": "any"}}
_NATIVE_CHOICE_TYPES = ("auto", "any", "tool", "none")


def finish_reason(stop_reason: str | None) -> str | None:
    """Anthropic's ``stop_reason`` as an OpenAI-style finish reason (unknown ones unchanged)."""
    if stop_reason is None:
        return None
    return FINISH_REASONS.get(stop_reason, stop_reason)


# -- requests ------------------------------------------------------------------------------
def to_anthropic_messages(messages: list[dict[str, Any]]) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """``(system, messages)`` for the Messages API from OpenAI-format messages.

    System/developer messages are lifted into ``system`` (a string, or text blocks when a part
    carries ``cache_control``); ``tool`` messages become ``tool_result`` blocks; assistant
    ``tool_calls`` become ``tool_use`` blocks preceded by the thinking blocks kept in
    ``provider_content``; consecutive turns of the same role are merged into one, with tool
    results first as Anthropic requires. A turn that is a single plain text block is sent as a string.
    """
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_system_blocks(message.get("content"), i))
            continue
        if role == "tool":
            role, blocks = "user", [_tool_result_block(message, i)]
        elif role == "assistant":
            blocks = _assistant_blocks(message, i)
        elif role == "user":
            blocks = to_anthropic_content(message.get("content"), f"messages[{i}]")
        else:
            raise InvalidRequestError(f"messages[{i}].role {role!r} has no Anthropic equivalent")
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        content = turn["content"]
        if turn["role"] == "user" and len(content) > 1 and any(b.get("type") == "tool_result" for b in content):
            turn["content"] = [b for b in content if b.get("type") == "tool_result"] + [
                b for b in content if b.get("type") != "tool_result"
            ]
        elif len(content) == 1 and _plain_text(content[0]):
            turn["content"] = content[0]["text"]
    return _compact_system(system), turns


def _plain_text(block: dict[str, Any]) -> bool:
    return block.get("type") == "text" and len(block) == 2


def _compact_system(blocks: list[dict[str, Any]]) -> str | list[dict[str, Any]] | None:
    if not blocks:
        return None
    if all(_plain_text(b) for b in blocks):
        return "\n\n".join(b["text"] for b in blocks)
    return blocks


def _system_blocks(content: Any, i: int) -> list[dict[str, Any]]:
    blocks = to_anthropic_content(content, f"messages[{i}]")
    for j, block in enumerate(blocks):
        if block.get("type") != "text":
            raise InvalidRequestError(f"messages[{i}].content[{j}]: a system message may only hold text for Anthropic")
    return [b for b in blocks if b["text"]]


def to_anthropic_content(content: Any, where: str = "content") -> list[dict[str, Any]]:
    """Anthropic content blocks for an OpenAI-format ``content`` (string or parts).

    Text and ``image_url`` parts (data URLs → base64 sources, http(s) URLs → url sources) and
    ``file`` parts holding a PDF data URL are converted; parts already in Anthropic's shape
    (``image``, ``document``, ...) pass through. ``cache_control`` on a part is kept.
    """
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise InvalidRequestError(f"{where}.content must be a string or a list of parts")
    blocks = []
    for j, part in enumerate(content):
        if not isinstance(part, dict):
            raise InvalidRequestError(f"{where}.content[{j}] must be a dict with a 'type'")
        kind = part.get("type")
        if kind == "text":
            block: dict[str, Any] = {"type": "text", "text": part.get("text", "")}
        elif kind == "image_url":
            block = image_block(part.get("image_url"), f"{where}.content[{j}]")
        elif kind == "file":
            block = _document_block(part.get("file"), f"{where}.content[{j}]")
        elif kind in ("input_audio", "audio"):
            raise InvalidRequestError(f"{where}.content[{j}]: Anthropic models do not accept audio input")
        else:
            blocks.append(dict(part))  # already an Anthropic block
            continue
        if "cache_control" in part:
            block["cache_control"] = part["cache_control"]
        blocks.append(block)
    return blocks


def image_block(image: Any, where: str = "image_url") -> dict[str, Any]:
    """An Anthropic ``image`` block for an OpenAI ``image_url`` value."""
    url = image_url_value(image, where)
    if isinstance(url, tuple):
        media_type, data = url
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if is_remote(url):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidRequestError(f"{where}.image_url.url must be an http(s) URL or a data URL (got {url[:40]!r})")


def _document_block(file: Any, where: str) -> dict[str, Any]:
    media_type, data = inline_file(file, where, "Anthropic")
    block: dict[str, Any] = {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if file.get("filename"):
        block["title"] = file["filename"]
    return block


def _tool_result_block(message: dict[str, Any], i: int) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message["tool_call_id"]}
    content = message.get("content")
    if isinstance(content, list):
        block["content"] = to_anthropic_content(content, f"messages[{i}]")
    elif content:
        block["content"] = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    if message.get("is_error"):
        block["is_error"] = True
    return block


def _assistant_blocks(message: dict[str, Any], i: int) -> list[dict[str, Any]]:
    blocks = [dict(b) for b in message.get("provider_content") or () if isinstance(b, dict) and b.get("type") in THINKING_BLOCK_TYPES]
    content = message.get("content")
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif content:
        blocks.extend(b for b in to_anthropic_content(content, f"messages[{i}]") if b.get("type") != "text" or b.get("text"))
    for j, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{i}_{j}",
                "name": function.get("name", ""),
                "input": tool_arguments(function.get("arguments"), f"messages[{i}].tool_calls[{j}].function.arguments"),
            }
        )
    return blocks


def to_anthropic_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic tool definitions for OpenAI-style ``{"type": "function", "function": {...}}`` tools.

    Tools already in Anthropic's shape (``input_schema``, or server tools with their own type) pass through.
    """
    out = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict):
            if not function.get("name"):
                raise InvalidRequestError(f"tools[{i}].function.name is required")
            converted: dict[str, Any] = {"name": function["name"]}
            if function.get("description"):
                converted["description"] = function["description"]
            converted["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
            if "cache_control" in tool:
                converted["cache_control"] = tool["cache_control"]
            out.append(converted)
        elif isinstance(tool, dict) and ("input_schema" in tool or (tool.get("type") and tool.get("type") != "function")):
            out.append(dict(tool))
        else:
            raise InvalidRequestError(f"tools[{i}] must be {{'type': 'function', 'function': {{'name': ..., 'parameters': ...}}}}")
    return out


def to_anthropic_tool_choice(choice: Any, parallel_tool_calls: bool | None = None) -> dict[str, Any] | None:
    """Anthropic ``tool_choice`` for an OpenAI one (``auto``/``none``/``required``/a named function).

    ``parallel_tool_calls=False`` becomes ``disable_parallel_tool_use``.
    """
    result: dict[str, Any] | None
    if choice is None:
        result = None
    elif isinstance(choice, str):
        if choice not in _TOOL_CHOICES:
            raise InvalidRequestError(f"tool_choice must be auto, none, required or a function (got {choice!r})")
        result = dict(_TOOL_CHOICES[choice])
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict) and choice["function"].get("name"):
        result = {"type": "tool", "name": choice["function"]["name"]}
    elif isinstance(choice, dict) and choice.get("type") in _NATIVE_CHOICE_TYPES:
        result = dict(choice)
    else:
        raise InvalidRequestError(f"tool_choice {choice!r} has no Anthropic equivalent")
    if parallel_tool_calls is False:
        result = result or {"type": "auto"}
        if result["type"] != "none":
            result["disable_parallel_tool_use"] = True
    return result


def claude_thinking(call: CallParams, claude: bool = True) -> tuple[int, dict[str, Any] | None, dict[str, Any] | None]:
    """``(max_tokens, thinking, output_config)`` for a call to a Claude model (Anthropic's API, or
    Bedrock's ``additionalModelRequestFields``); ``claude=False``: max_tokens only."""
    thinking = thinking_config(call.thinking, call.reasoning_effort, adaptive=call.adaptive_thinking) if claude else None
    output_config = None
    if thinking is not None and thinking.get("type") == "adaptive":
        effort = call.reasoning_effort
        if isinstance(call.thinking, dict) and "type" not in call.thinking:
            effort = call.thinking.get("effort") or effort
        if effort and effort != "none":
            output_config = {"effort": ADAPTIVE_EFFORTS.get(effort, effort)}
    max_tokens, thinking = fit_max_tokens(call.max_tokens, call.max_output_tokens, thinking)
    return max_tokens, thinking, output_config


CLAUDE_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_tokens": "max_tokens",
    "stop": "stop_sequences",
    "tools": "tools",
    "tool_choice": "tool_choice",
    "thinking": "thinking",
    "reasoning_effort": "thinking.budget_tokens",
    "prompt_cache": "cache_control breakpoints",
}
"""Where each call option goes in a Messages API body (Bedrock rewrites these for Converse)."""


def thinking_on(call: CallParams) -> bool:
    """Whether ``call`` turns Claude's thinking on (which rules out temperature and forced tools)."""
    config = thinking_config(call.thinking, call.reasoning_effort, adaptive=call.adaptive_thinking)
    return config is not None and config.get("type") != "disabled"


def claude_option_fate(call: CallParams, name: str) -> tuple[str, str | None] | None:
    """The fates that depend on a Claude call's thinking (None: the adapter's table decides)."""
    if name == "temperature" and thinking_on(call):
        return "dropped", "Claude takes only the default temperature while thinking"
    if name in ("thinking", "reasoning_effort") and call.adaptive_thinking:
        return "mapped", "thinking (adaptive)" if name == "thinking" else "output_config.effort"
    return None


def thinking_config(
    thinking: bool | dict[str, Any] | None, reasoning_effort: str | None = None, *, adaptive: bool = False
) -> dict[str, Any] | None:
    """Anthropic's ``thinking`` parameter for vv-llm's ``thinking`` / ``reasoning_effort`` options.

    ``True`` → enabled with the default budget; ``{"budget_tokens": N}`` → that budget (at least
    1024); a dict with a ``type`` is Anthropic's own option and is sent as given. For models with
    ``adaptive`` thinking (Claude 4.6 and later; the only kind Opus 4.7 and the 5.x models accept)
    a request for thinking is ``{"type": "adaptive"}``: the model sizes it, steered by the effort.
    """
    config = _thinking_config(thinking, reasoning_effort)
    if adaptive and config is not None and config.get("type") == "enabled" and not (isinstance(thinking, dict) and "type" in thinking):
        return {"type": "adaptive"}
    return config


def _thinking_config(thinking: bool | dict[str, Any] | None, reasoning_effort: str | None) -> dict[str, Any] | None:
    if thinking is None:
        if not reasoning_effort or reasoning_effort == "none":
            return None
        return {"type": "enabled", "budget_tokens": EFFORT_BUDGETS.get(reasoning_effort, DEFAULT_THINKING_BUDGET)}
    if thinking is False:
        return None
    if thinking is True:
        return {"type": "enabled", "budget_tokens": DEFAULT_THINKING_BUDGET}
    if not isinstance(thinking, dict):
        raise InvalidRequestError(f"thinking must be a bool or a dict such as {{'budget_tokens': 2048}} (got {thinking!r})")
    if "type" in thinking:
        config = dict(thinking)
        if config["type"] == "enabled":
            config["budget_tokens"] = max(MIN_THINKING_BUDGET, int(config.get("budget_tokens") or DEFAULT_THINKING_BUDGET))
        return config
    if thinking.get("enabled") is False:
        return None
    budget = thinking.get("budget_tokens") or EFFORT_BUDGETS.get(thinking.get("effort") or "", DEFAULT_THINKING_BUDGET)
    return {"type": "enabled", "budget_tokens": max(MIN_THINKING_BUDGET, int(budget))}


def fit_max_tokens(
    max_tokens: int | None, model_max_output: int | None, thinking: dict[str, Any] | None
) -> tuple[int, dict[str, Any] | None]:
    """``(max_tokens, thinking)`` that Anthropic accepts.

    ``max_tokens`` defaults to the model's output limit capped at 8192. With a thinking budget,
    ``max_tokens`` must exceed it: when it does not, the budget is added on top, so the caller's
    ``max_tokens`` still bounds the visible answer (within the model's output limit).
    """
    answer = max_tokens or min(model_max_output or FALLBACK_MAX_TOKENS, DEFAULT_MAX_TOKENS_CAP)
    if thinking and thinking.get("type") == "adaptive":
        # max_tokens bounds thinking and answer together: without one, leave the thinking room too.
        return max_tokens or min(model_max_output or FALLBACK_MAX_TOKENS, DEFAULT_MAX_TOKENS_CAP + ADAPTIVE_THINKING_ROOM), thinking
    budget = thinking.get("budget_tokens") if thinking and thinking.get("type") == "enabled" else None
    if not isinstance(budget, int):
        return answer, thinking
    total = answer if answer > budget else budget + answer
    if model_max_output and total > model_max_output:
        if model_max_output <= MIN_THINKING_BUDGET:
            raise InvalidRequestError(
                f"thinking needs more than {MIN_THINKING_BUDGET} output tokens (its smallest budget plus the answer), but the "
                f"model's max_output_tokens is {model_max_output}: turn thinking off or raise max_output_tokens in settings"
            )
        total = model_max_output
        if budget >= total:
            thinking = {**thinking, "budget_tokens": max(MIN_THINKING_BUDGET, total - min(answer, total // 2))}  # type: ignore[dict-item]
    return total, thinking


STRUCTURED_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"})
"""String formats Anthropic's structured outputs enforce; others are moved into the description."""
_SCHEMA_KEPT = frozenset(
    {"type", "properties", "required", "items", "anyOf", "allOf", "enum", "const", "$ref", "$defs", "definitions"}
    | {"description", "title", "additionalProperties", "format", "minItems"}
)
_SCHEMA_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "examples", "default", "readOnly", "writeOnly", "deprecated"})


def anthropic_output_format(schema: dict[str, Any]) -> dict[str, Any]:
    """``output_config.format`` for a JSON schema, by the rules of Anthropic's structured outputs:
    every object closed (``additionalProperties: false``); ``oneOf`` read as ``anyOf``; constraints
    it cannot enforce (numeric and string bounds, ``minItems`` above 1, other formats) moved into the
    description, as Anthropic's SDKs do; recursive schemas, open maps and external refs refused."""
    recursive = recursive_ref(schema, "Anthropic")
    if recursive:
        raise InvalidRequestError(f"response_format schema {recursive}: Anthropic structured outputs do not support recursive schemas")

    def rule(node: dict[str, Any], path: str) -> dict[str, Any]:
        node = {k: v for k, v in node.items() if k not in _SCHEMA_ANNOTATIONS}
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf") + node.pop("anyOf", [])
        unsupported = set(node) - _SCHEMA_KEPT
        if "format" in node and node["format"] not in STRUCTURED_FORMATS:
            unsupported.add("format")
        if node.get("minItems") not in (None, 0, 1):
            unsupported.add("minItems")
        node = moved_to_description(node, unsupported)
        if node.get("type") == "object" or "properties" in node:
            extra = node.get("additionalProperties")
            if extra not in (None, False):
                raise InvalidRequestError(
                    f"response_format schema {path}.additionalProperties: Anthropic structured outputs need closed objects "
                    "(additionalProperties false); list the properties instead of an open map"
                )
            node["additionalProperties"] = False
        return node

    return {"type": "json_schema", "schema": rewrite_schema(schema, rule)}


def native_output_format(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """The Anthropic ``output_config.format`` for an (already planned) json_schema response_format."""
    if not response_format or response_format.get("type") != "json_schema":
        return None
    return anthropic_output_format(response_format["json_schema"]["schema"])


def add_system_text(system: str | list[dict[str, Any]] | None, text: str) -> str | list[dict[str, Any]]:
    """``system`` with ``text`` appended."""
    if not system:
        return text
    if isinstance(system, str):
        return f"{system}\n\n{text}"
    return [*system, {"type": "text", "text": text}]


def apply_prompt_cache(
    system: str | list[dict[str, Any]] | None,
    tools: list[dict[str, Any]] | None,
    messages: list[dict[str, Any]],
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """Add ``cache_control: {type: ephemeral}`` breakpoints: the last tool, the system prompt and
    the last block of the latest two user turns — never more than four in all, counting any the
    caller placed. Returns new structures; the arguments are not changed."""
    budget = MAX_CACHE_BREAKPOINTS - count_cache_breakpoints(system, tools, messages)
    if budget > 0 and tools and "cache_control" not in tools[-1]:
        tools = [*tools[:-1], {**tools[-1], "cache_control": EPHEMERAL}]
        budget -= 1
    if budget > 0 and system:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": system}] if isinstance(system, str) else list(system)
        if "cache_control" not in blocks[-1]:
            blocks[-1] = {**blocks[-1], "cache_control": EPHEMERAL}
            budget -= 1
        system = blocks
    marked = 0
    messages = list(messages)
    for index in range(len(messages) - 1, -1, -1):
        if budget <= 0 or marked >= 2:
            break
        turn = messages[index]
        if turn["role"] != "user":
            continue
        content = turn["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
        if not blocks:
            continue
        if "cache_control" not in blocks[-1]:
            blocks[-1] = {**blocks[-1], "cache_control": EPHEMERAL}
            budget -= 1
        messages[index] = {**turn, "content": blocks}
        marked += 1
    return system, tools, messages


def count_cache_breakpoints(system: Any, tools: list[dict[str, Any]] | None, messages: list[dict[str, Any]]) -> int:
    count = sum(1 for t in tools or () if "cache_control" in t)
    if isinstance(system, list):
        count += sum(1 for b in system if "cache_control" in b)
    for turn in messages:
        if isinstance(turn.get("content"), list):
            count += sum(1 for b in turn["content"] if isinstance(b, dict) and "cache_control" in b)
    return count


# -- responses -----------------------------------------------------------------------------
def usage_from_anthropic(data: dict[str, Any] | None) -> Usage | None:
    """vv-llm usage from Anthropic's: prompt tokens count uncached, cache-written and cache-read input."""
    if not data:
        return None
    uncached = data.get("input_tokens") or 0
    written = data.get("cache_creation_input_tokens") or 0
    read = data.get("cache_read_input_tokens") or 0
    output = data.get("output_tokens") or 0
    prompt = uncached + written + read
    details = data.get("output_tokens_details") or {}
    return Usage.normalised(
        prompt=prompt,
        completion=output,
        reasoning=details.get("thinking_tokens") or 0,
        reasoning_in_completion=True,  # output_tokens bills the thinking too
        cached=read,
        cache_creation=written,
    )


def message_from_anthropic(data: dict[str, Any], endpoint_id: str | None = None) -> ChatCompletionMessage:
    """A :class:`ChatCompletionMessage` from a Messages API response body."""
    texts: list[str] = []
    thoughts: list[str] = []
    provider: list[dict[str, Any]] = []
    calls: list[ToolCall] = []
    for block in data.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "thinking":
            thoughts.append(block.get("thinking", ""))
            provider.append(block)
        elif kind == "redacted_thinking":
            provider.append(block)
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            calls.append(ToolCall(id=block["id"], function=FunctionCall(name=block["name"], arguments=arguments)))
    return ChatCompletionMessage(
        content="".join(texts) if texts or not calls else None,
        reasoning_content="".join(thoughts) if thoughts else None,
        tool_calls=calls or None,
        finish_reason=finish_reason(data.get("stop_reason")),
        usage=usage_from_anthropic(data.get("usage")),
        id=data.get("id"),
        model=data.get("model"),
        endpoint_id=endpoint_id,
        provider_content=provider or None,
        raw_response=data,
    )
