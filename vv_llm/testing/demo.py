"""Offline demo models, served by the fake server: for the playground's demo mode and benchmarks.

Every demo model is clearly a demo (its name starts with ``demo-`` and its answers say so). They
stream at different speeds; one reasons before answering, one calls a tool, one drops the
connection part-way (to show partial output)::

    with DemoBackend() as demo:
        settings.load(demo.settings_dict())
        create_chat_client("local", "demo-fast").create_completion([{"role": "user", "content": "hi"}])
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib.util import find_spec
from typing import Any

from vv_llm.testing.script import Reply, RequestInfo, ToolCallSpec, count_tokens, echo_responder, split_text
from vv_llm.testing.server import FakeLLMServer

DEMO_ENDPOINT_ID = "vv-llm-demo"
"""The endpoint id the OpenAI-protocol demo models use."""
DEMO_ANTHROPIC_ENDPOINT_ID = "vv-llm-demo-anthropic"
DEMO_API_KEY = "demo-no-key-needed"
"""Not a secret: the demo server accepts any key."""
REQUEST_LOG_SIZE = 50
"""The demo server keeps only its latest requests (it runs as long as the playground does)."""
DEMO_PRICES = {"input": 0.5, "cached_input": 0.05, "output": 1.5}
"""Made-up prices (USD per 1M tokens) so the playground has costs to show."""


@dataclass(frozen=True)
class DemoModel:
    """One demo model and how it behaves."""

    name: str
    description: str
    duration: float
    """Roughly how long one answer takes to stream, in seconds."""
    first_byte_delay: float
    backend: str = "local"
    chunk_chars: int = 6
    reasoning: bool = False
    tool_call: bool = False
    fails_midway: bool = False
    prices: dict[str, float] = field(default_factory=lambda: dict(DEMO_PRICES))

    @property
    def endpoint_id(self) -> str:
        return DEMO_ANTHROPIC_ENDPOINT_ID if self.backend == "anthropic" else DEMO_ENDPOINT_ID


DEMO_MODELS: tuple[DemoModel, ...] = (
    DemoModel("demo-fast", "Fast and concise", duration=1.0, first_byte_delay=0.15),
    DemoModel("demo-thinker", "Reasons step by step before answering", duration=1.3, first_byte_delay=0.35, reasoning=True),
    DemoModel("demo-tools", "Decides to call a tool", duration=1.0, first_byte_delay=0.25, tool_call=True),
    DemoModel("demo-slow", "Slow and thorough", duration=3.5, first_byte_delay=1.0, chunk_chars=4),
    DemoModel("demo-flaky", "Loses the connection part-way (shows partial output)", duration=1.0, first_byte_delay=0.2, fails_midway=True),
    DemoModel("demo-messages", "Served over the Anthropic Messages protocol", duration=1.2, first_byte_delay=0.3, backend="anthropic"),
)


def anthropic_demo_available() -> bool:
    """Whether this install can serve and call a model over the Anthropic protocol."""
    try:
        return bool(find_spec("vv_llm.testing.wires.anthropic") and find_spec("vv_llm.chat_clients.adapters.anthropic"))
    except ImportError:  # pragma: no cover
        return False


def available_demo_models() -> tuple[DemoModel, ...]:
    """The demo models this install can serve."""
    anthropic = anthropic_demo_available()
    return tuple(m for m in DEMO_MODELS if m.backend != "anthropic" or anthropic)


# -- answers ---------------------------------------------------------------------------------
def _quote(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _answer(model: DemoModel, prompt: str) -> str:
    asked = _quote(prompt) or "(an empty prompt)"
    if model.name == "demo-thinker":
        return (
            f"### Answer to “{asked}”\n\n"
            "After thinking it through, here is a structured reply:\n\n"
            "1. **Restate** the question in one sentence.\n"
            "2. **Answer** it directly, then add one example.\n"
            "3. **Check** the answer against the question.\n\n"
            "| step | purpose |\n|---|---|\n| restate | be sure what is asked |\n| answer | be useful |\n| check | be right |\n\n"
            "_demo-thinker is an offline demo model: its reasoning above is canned, not real._"
        )
    if model.name == "demo-slow":
        return (
            f"You asked: “{asked}”.\n\n"
            "I am **demo-slow**, an offline demo model that takes its time, so you can watch faster "
            "models finish first while I am still writing. A slow model never holds up a fast one: "
            "each column streams on its own.\n\n"
            "```python\nfrom vv_llm.chat_clients import create_chat_client\n\n"
            'client = create_chat_client("local", "demo-slow")\n```\n\n'
            "_This is a canned demo answer._"
        )
    if model.name == "demo-flaky":
        return (
            f"Starting to answer “{asked}”… demo-flaky always loses its connection part-way through, "
            "so the playground can show how a broken stream keeps the text that arrived and marks it partial. "
            "You should never see this sentence end"
        )
    if model.name == "demo-messages":
        return (
            f"Hello from **demo-messages**. You said: “{asked}”.\n\n"
            "This offline demo model speaks the Anthropic Messages protocol, so the same playground "
            "column works whatever wire format a provider uses.\n\n_Canned demo answer._"
        )
    return (
        f"**Short answer** to “{asked}”:\n\n"
        f"This reply comes from *{model.name}*, an offline demo model built into vv-llm. "
        "It streams a canned answer so you can try the playground without an API key.\n\n"
        "- Add a real key on **Endpoints & models** to compare real models.\n"
        "- Every run is kept in **History** and counted on the **Usage dashboard**."
    )


def _reasoning(prompt: str) -> str:
    asked = _quote(prompt, 60) or "nothing in particular"
    return (
        f"The user asks about “{asked}”. A good reply restates the question, answers it, and checks itself. "
        "A table would make the steps easy to scan. Keep it short."
    )


def _tool_arguments(info: RequestInfo) -> tuple[str, dict[str, Any]]:
    """Call the first declared tool, filling its required parameters; else a built-in search tool."""
    prompt = _quote(info.last_user_text, 60)
    body = info.body if isinstance(info.body, dict) else {}
    for tool in body.get("tools") or []:
        spec = tool.get("function", tool) if isinstance(tool, dict) else {}
        name = spec.get("name")
        if not name:
            continue
        schema = spec.get("parameters") or spec.get("input_schema") or {}
        args: dict[str, Any] = {}
        for prop, prop_schema in (schema.get("properties") or {}).items():
            kind = prop_schema.get("type") if isinstance(prop_schema, dict) else None
            if kind == "string":
                args[prop] = (prop_schema.get("enum") or [prompt])[0]
            elif kind in ("number", "integer"):
                args[prop] = 1
            elif kind == "boolean":
                args[prop] = True
        return name, args
    return "web_search", {"query": prompt}


def _tool_result(info: RequestInfo) -> str | None:
    """The latest tool result in the conversation (OpenAI or Anthropic shape), None when there is none."""
    body = info.body if isinstance(info.body, dict) else {}
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict):
            continue
        if message.get("role") == "tool":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        parts = message.get("content")
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict) and part.get("type") == "tool_result":
                inner = part.get("content")
                if isinstance(inner, list):
                    inner = " ".join(str(p.get("text", "")) for p in inner if isinstance(p, dict))
                return str(inner or "")
    return None


def _cached_tokens(info: RequestInfo) -> int:
    """Follow-up turns report the earlier conversation as cached, as providers' prompt caches do."""
    earlier = info.messages_text[: max(0, len(info.messages_text) - len(info.last_user_text))]
    if info.messages_text.count("\n") < 2 or not earlier.strip():
        return 0
    return (count_tokens(earlier, info.model) // 32) * 32


def _output_limit(info: RequestInfo) -> int | None:
    """The request's cap on output tokens (OpenAI ``max_completion_tokens`` / ``max_tokens``, Anthropic ``max_tokens``)."""
    body = info.body if isinstance(info.body, dict) else {}
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _fit(text: str, budget: int, model: str) -> str:
    """The longest prefix of ``text`` that counts as at most ``budget`` tokens."""
    if budget <= 0:
        return ""
    if count_tokens(text, model) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle], model) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low]


class DemoResponder:
    """Answers requests for the demo models (anything else gets the fake server's echo reply).

    ``pace`` scales every delay (``0.1`` is ten times faster, ``2`` twice as slow).
    """

    def __init__(self, models: tuple[DemoModel, ...] = DEMO_MODELS, *, pace: float = 1.0):
        self.models = {m.name: m for m in models}
        self.pace = pace

    def __call__(self, info: RequestInfo) -> Reply:
        model = self.models.get(info.model)
        if model is None:
            return echo_responder(info)
        reasoning = _reasoning(info.last_user_text) if model.reasoning else None
        tool_calls: list[ToolCallSpec] = []
        result = _tool_result(info) if model.tool_call else None
        if model.tool_call and result is None:
            name, args = _tool_arguments(info)
            content = f"To answer “{_quote(info.last_user_text, 60)}” I will call `{name}` first."
            tool_calls = [ToolCallSpec(name, args)]
        elif model.tool_call:
            content = (
                f"Thanks for the tool result: `{_quote(result or '', 120)}`. Based on it, here is my answer: "
                "_(demo-tools is an offline demo model)_."
            )
        else:
            content = _answer(model, info.last_user_text)
        finish_reason = None
        limit = _output_limit(info)
        if limit is not None:  # like a real model, stop at the token limit (reasoning counts towards it)
            fitted_reasoning = _fit(reasoning, limit, info.model) if reasoning else reasoning
            left = limit - count_tokens(fitted_reasoning or "", info.model)
            fitted = _fit(content, left, info.model)
            if fitted != content or fitted_reasoning != reasoning:
                reasoning, content, tool_calls, finish_reason = fitted_reasoning, fitted, [], "length"
        pieces = math.ceil(len(content) / model.chunk_chars) + math.ceil(len(reasoning or "") / model.chunk_chars)
        pieces += sum(1 + len(split_text(t.arguments_json(), model.chunk_chars)) for t in tool_calls)
        streaming = max(0.05, model.duration - model.first_byte_delay)
        return Reply(
            content=content,
            reasoning=reasoning,
            tool_calls=tool_calls,
            chunk_chars=model.chunk_chars,
            chunk_delay=self.pace * streaming / max(1, pieces) if info.stream else 0.0,
            first_byte_delay=self.pace * (model.first_byte_delay if info.stream else model.duration),
            cached_tokens=_cached_tokens(info),
            reset_after_chunks=max(3, pieces // 2) if model.fails_midway and info.stream else None,
            finish_reason=finish_reason,
        )


def demo_settings_dict(server: FakeLLMServer, models: tuple[DemoModel, ...] | None = None) -> dict[str, Any]:
    """Settings (VERSION "2") that make the demo models callable on ``server``."""
    models = available_demo_models() if models is None else models
    endpoints = [{"id": DEMO_ENDPOINT_ID, "api_base": server.url("/v1"), "api_key": DEMO_API_KEY}]
    if any(m.backend == "anthropic" for m in models):
        endpoints.append({"id": DEMO_ANTHROPIC_ENDPOINT_ID, "api_base": server.url(""), "api_key": DEMO_API_KEY})
    backends: dict[str, Any] = {}
    for m in models:
        backends.setdefault(m.backend, {"models": {}})["models"][m.name] = {
            "id": m.name,
            "endpoints": [m.endpoint_id],
            "context_length": 32768,
            "max_output_tokens": 4096,
            "function_call_available": True,
            "reasoning": m.reasoning,
            "prices": dict(m.prices),
        }
    return {"VERSION": "2", "endpoints": endpoints, "backends": backends}


class DemoBackend:
    """A fake server answering as the demo models; ``settings_dict()`` points vv-llm at it."""

    def __init__(self, *, pace: float = 1.0, models: tuple[DemoModel, ...] | None = None, host: str = "127.0.0.1", port: int = 0):
        self.models = available_demo_models() if models is None else models
        self.responder = DemoResponder(self.models, pace=pace)
        self.server = FakeLLMServer(
            host, port, responder=self.responder, models=[m.name for m in self.models], max_recorded=REQUEST_LOG_SIZE
        )

    def start(self) -> DemoBackend:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> DemoBackend:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def endpoint_ids(self) -> set[str]:
        return {m.endpoint_id for m in self.models}

    def settings_dict(self) -> dict[str, Any]:
        return demo_settings_dict(self.server, self.models)

    def describe(self, name: str) -> str | None:
        model = self.responder.models.get(name)
        return model.description if model else None
