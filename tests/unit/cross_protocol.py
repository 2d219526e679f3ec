"""One conversation suite over every protocol family: the protocols and the helpers its tests share.

The same scenarios — plain, stream, async, tools across two turns, image, thinking/reasoning,
prompt-cache usage, typed errors — run against OpenAI-compatible, Anthropic, Gemini,
Vertex-Anthropic, Vertex-Gemini and Bedrock endpoints on the fake server. Each asserts that the
normalized result is the same everywhere (content, reasoning, tool call names and parsed
arguments, finish reason, usage) and that what reached the provider is right: each protocol's
request body is read back into one neutral form (roles, text, images, calls, results) and
compared, plus the protocol's own markers (path, streaming, auth, thinking, cache breakpoints).

The scenarios, by what they test: ``adapters/test_cross_protocol_conversation.py`` (plain, stream,
async, tools, image, one transcript), ``adapters/test_cross_protocol_reasoning_and_cache.py``,
``tokens/test_cross_protocol_counts.py`` and ``engine/test_cross_protocol_errors.py``; their
``protocol`` fixture is in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.settings import settings
from vv_llm.testing.protocol import RecordedRequest
from vv_llm.testing.settings import FAKE_KEY, fake_settings_dict

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
PNG_B64 = base64.b64encode(PNG).decode()
PNG_URL = f"data:image/png;base64,{PNG_B64}"
AWS_KEY_ID = "AKIAFAKESCENARIO001"
AWS_SECRET = "fake/Scenario+Secret/Key0123456789abcdefgh"
PROJECT = "vv-llm-scenarios"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}


# -- reading each protocol's request body back into one neutral form -----------------------
Item = tuple[Any, ...]
"""("text", str) | ("image", media_type, base64) | ("call", name, args) | ("result", name, value)."""


def _value(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content


def _merge(turns: list[tuple[str, list[Item]]]) -> list[tuple[str, list[Item]]]:
    merged: list[tuple[str, list[Item]]] = []
    for role, items in turns:
        if not items:
            continue
        if merged and merged[-1][0] == role:
            merged[-1][1].extend(items)
        else:
            merged.append((role, list(items)))
    return merged


def openai_turns(body: dict[str, Any]) -> list[tuple[str, list[Item]]]:
    names: dict[str, str] = {}
    turns: list[tuple[str, list[Item]]] = []
    for message in body["messages"]:
        role, content = message["role"], message.get("content")
        items: list[Item] = []
        if isinstance(content, str) and content:
            items.append(("text", content))
        for part in content if isinstance(content, list) else ():
            if part["type"] == "text":
                items.append(("text", part["text"]))
            elif part["type"] == "image_url":
                media, data = part["image_url"]["url"][5:].split(";base64,")
                items.append(("image", media, data))
        for call in message.get("tool_calls") or ():
            names[call["id"]] = call["function"]["name"]
            items.append(("call", call["function"]["name"], json.loads(call["function"]["arguments"])))
        if role == "tool":
            items = [("result", names[message["tool_call_id"]], _value(content))]
        turns.append(({"tool": "user", "developer": "system"}.get(role, role), items))
    return _merge(turns)


def anthropic_turns(body: dict[str, Any]) -> list[tuple[str, list[Item]]]:
    names: dict[str, str] = {}
    system = body.get("system")
    turns: list[tuple[str, list[Item]]] = []
    if system:
        texts = [system] if isinstance(system, str) else [b["text"] for b in system]
        turns.append(("system", [("text", "\n\n".join(texts))]))
    for message in body["messages"]:
        content = message["content"]
        items: list[Item] = []
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content:
            kind = block["type"]
            if kind == "text":
                items.append(("text", block["text"]))
            elif kind == "image":
                items.append(("image", block["source"]["media_type"], block["source"]["data"]))
            elif kind == "tool_use":
                names[block["id"]] = block["name"]
                items.append(("call", block["name"], block["input"]))
            elif kind == "tool_result":
                result = block.get("content")
                if isinstance(result, list):
                    result = "".join(b.get("text", "") for b in result)
                items.append(("result", names[block["tool_use_id"]], _value(result)))
        turns.append((message["role"], items))
    return _merge(turns)


def gemini_turns(body: dict[str, Any]) -> list[tuple[str, list[Item]]]:
    turns: list[tuple[str, list[Item]]] = []
    if body.get("systemInstruction"):
        turns.append(("system", [("text", "\n\n".join(p["text"] for p in body["systemInstruction"]["parts"]))]))
    for content in body["contents"]:
        items: list[Item] = []
        for part in content["parts"]:
            if "text" in part and not part.get("thought") and part["text"]:
                items.append(("text", part["text"]))
            elif "inlineData" in part:
                items.append(("image", part["inlineData"]["mimeType"], part["inlineData"]["data"]))
            elif "functionCall" in part:
                items.append(("call", part["functionCall"]["name"], part["functionCall"].get("args", {})))
            elif "functionResponse" in part:
                response = part["functionResponse"]["response"]
                items.append(("result", part["functionResponse"]["name"], _value(response.get("output", response))))
        turns.append(({"model": "assistant"}.get(content["role"], content["role"]), items))
    return _merge(turns)


def bedrock_turns(body: dict[str, Any]) -> list[tuple[str, list[Item]]]:
    names: dict[str, str] = {}
    turns: list[tuple[str, list[Item]]] = []
    system = [b["text"] for b in body.get("system") or () if "text" in b]
    if system:
        turns.append(("system", [("text", "\n\n".join(system))]))
    for message in body["messages"]:
        items: list[Item] = []
        for block in message["content"]:
            if "text" in block:
                items.append(("text", block["text"]))
            elif "image" in block:
                items.append(("image", "image/" + block["image"]["format"], block["image"]["source"]["bytes"]))
            elif "toolUse" in block:
                names[block["toolUse"]["toolUseId"]] = block["toolUse"]["name"]
                items.append(("call", block["toolUse"]["name"], block["toolUse"]["input"]))
            elif "toolResult" in block:
                parts = block["toolResult"]["content"]
                value = parts[0]["json"] if "json" in parts[0] else _value("".join(p.get("text", "") for p in parts))
                items.append(("result", names[block["toolResult"]["toolUseId"]], value))
        turns.append((message["role"], items))
    return _merge(turns)


def _count(obj: Any, key: str) -> int:
    if isinstance(obj, dict):
        return (key in obj) + sum(_count(v, key) for v in obj.values())
    if isinstance(obj, list):
        return sum(_count(v, key) for v in obj)
    return 0


def _find(obj: Any, key: str) -> list[Any]:
    if isinstance(obj, dict):
        return ([obj[key]] if key in obj else []) + [x for v in obj.values() for x in _find(v, key)]
    if isinstance(obj, list):
        return [x for v in obj for x in _find(v, key)]
    return []


# -- the protocols -----------------------------------------------------------------------------
@dataclass
class Protocol:
    id: str
    backend: BackendType
    model: str
    wire: str
    turns: Callable[[dict[str, Any]], list[tuple[str, list[Item]]]]
    streaming: Callable[[RecordedRequest], bool]
    authenticated: Callable[[RecordedRequest], bool]
    sampling: Callable[[dict[str, Any]], tuple[Any, Any]]
    """(temperature, max tokens) where the protocol puts them."""
    thinking: Callable[[dict[str, Any]], bool]
    signatures: Callable[[dict[str, Any]], list[str]]
    """Reasoning signatures sent back in the request."""
    cache_breakpoints: Callable[[dict[str, Any]], int]
    reports_reasoning_tokens: bool
    secret: str
    overloaded_status: int = 503
    break_auth: Callable[[Any], dict[str, Any]] = field(default=lambda server: (setattr(server, "api_keys", {"not-the-key"}), {})[1])


def _bearer(request: RecordedRequest) -> bool:
    return request.headers.get("authorization", "").startswith("Bearer ya29.")


def _bogus_bearer(server: Any) -> dict[str, Any]:
    return {"extra_headers": {"authorization": "Bearer ya29.revoked-token"}}


OPENAI = Protocol(
    id="openai",
    backend=BackendType.OpenAI,
    model="o4-mini",
    wire="openai",
    turns=openai_turns,
    streaming=lambda r: r.json.get("stream") is True,
    authenticated=lambda r: r.headers["authorization"] == f"Bearer {FAKE_KEY}",
    sampling=lambda b: (b.get("temperature"), b.get("max_completion_tokens")),
    thinking=lambda b: b.get("reasoning_effort") == "low",
    signatures=lambda b: [],
    cache_breakpoints=lambda b: 0,
    reports_reasoning_tokens=True,
    secret=FAKE_KEY,
)
_ANTHROPIC: dict[str, Any] = {
    "turns": anthropic_turns,
    "sampling": lambda b: (b.get("temperature"), b.get("max_tokens")),
    "thinking": lambda b: (b.get("thinking") or {}).get("type") == "enabled",
    "signatures": lambda b: [
        blk["signature"] for m in b["messages"] if isinstance(m["content"], list) for blk in m["content"] if blk["type"] == "thinking"
    ],
    "cache_breakpoints": lambda b: _count(b, "cache_control"),
    "reports_reasoning_tokens": False,
    "overloaded_status": 529,
}
ANTHROPIC = Protocol(
    id="anthropic",
    backend=BackendType.Anthropic,
    model="claude-sonnet-4-5",
    wire="anthropic",
    streaming=lambda r: r.json.get("stream") is True,
    authenticated=lambda r: r.headers["x-api-key"] == FAKE_KEY,
    secret=FAKE_KEY,
    **_ANTHROPIC,
)
VERTEX_ANTHROPIC = Protocol(
    id="vertex-anthropic",
    backend=BackendType.Anthropic,
    model="claude-on-vertex",
    wire="vertex-anthropic",
    streaming=lambda r: r.path.endswith(":streamRawPredict") and r.json.get("stream") is True,
    authenticated=_bearer,
    secret="PRIVATE KEY",
    **_ANTHROPIC,
)
_GEMINI: dict[str, Any] = {
    "turns": gemini_turns,
    "streaming": lambda r: r.path.endswith(":streamGenerateContent") and r.query == {"alt": "sse"},
    "sampling": lambda b: ((b.get("generationConfig") or {}).get("temperature"), (b.get("generationConfig") or {}).get("maxOutputTokens")),
    "thinking": lambda b: (b.get("generationConfig") or {}).get("thinkingConfig", {}).get("includeThoughts") is True,
    "signatures": lambda b: _find(b["contents"], "thoughtSignature"),
    "cache_breakpoints": lambda b: 0,  # implicit caching: nothing to mark
    "reports_reasoning_tokens": True,
}
GEMINI = Protocol(
    id="gemini",
    backend=BackendType.Gemini,
    model="gemini-2.5-flash",
    wire="gemini",
    authenticated=lambda r: r.headers["x-goog-api-key"] == FAKE_KEY,
    secret=FAKE_KEY,
    **_GEMINI,
)
VERTEX_GEMINI = Protocol(
    id="vertex-gemini",
    backend=BackendType.Gemini,
    model="gemini-on-vertex",
    wire="vertex-gemini",
    authenticated=_bearer,
    secret="PRIVATE KEY",
    break_auth=_bogus_bearer,
    **_GEMINI,
)
BEDROCK = Protocol(
    id="bedrock",
    backend=BackendType.Anthropic,
    model="claude-on-bedrock",
    wire="bedrock",
    turns=bedrock_turns,
    streaming=lambda r: r.path.endswith("/converse-stream"),
    authenticated=lambda r: (
        r.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/") and "x-amz-date" in r.headers
    ),
    sampling=lambda b: (b["inferenceConfig"].get("temperature"), b["inferenceConfig"].get("maxTokens")),
    thinking=lambda b: ((b.get("additionalModelRequestFields") or {}).get("thinking") or {}).get("type") == "enabled",
    signatures=lambda b: [r["reasoningText"]["signature"] for r in _find(b["messages"], "reasoningContent")],
    cache_breakpoints=lambda b: _count(b, "cachePoint"),
    reports_reasoning_tokens=False,
    secret=AWS_SECRET,
)
PROTOCOLS = [OPENAI, ANTHROPIC, GEMINI, VERTEX_ANTHROPIC, VERTEX_GEMINI, BEDROCK]


def load_scenario_settings(server: Any, private_key_pem: str) -> None:
    """Settings with every backend on the fake server, plus Vertex (Claude, Gemini) and Bedrock endpoints."""
    data = fake_settings_dict(server)
    account = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "5c3a1d",
        "private_key": private_key_pem,
        "client_email": f"scenarios@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "42",
        "token_uri": server.url("/token"),
    }
    vertex = {"api_base": server.url(), "is_vertex": True, "credentials": {"service_account_info": account}}
    data["endpoints"] += [
        {"id": "vertex-claude", "region": "us-east5", **vertex},
        {"id": "vertex-gemini", "region": "us-central1", **vertex},
        {
            "id": "bedrock-east",
            "api_base": server.url(),
            "is_bedrock": True,
            "region": "us-east-1",
            "credentials": {"access_key_id": AWS_KEY_ID, "secret_access_key": AWS_SECRET},
        },
    ]
    limits = {"context_length": 200000, "max_output_tokens": 64000}
    data["backends"]["anthropic"]["models"] = {
        "claude-on-vertex": {"id": "claude-sonnet-4-5@20250929", "endpoints": ["vertex-claude"], **limits},
        "claude-on-bedrock": {"id": "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "endpoints": ["bedrock-east"], **limits},
    }
    data["backends"]["gemini"]["models"] = {"gemini-on-vertex": {"id": "gemini-2.5-pro", "endpoints": ["vertex-gemini"], **limits}}
    data["retry"] = {"max_attempts": 1}
    settings.load(data)


def model_requests(server, protocol: Protocol) -> list[RecordedRequest]:
    return [r for r in server.requests if r.protocol == protocol.wire]


def ask(protocol: Protocol, mode: str, messages: list[dict[str, Any]], **options: Any) -> tuple[Any, int]:
    """The reply to ``messages`` in ``mode`` (sync / stream / async / async_stream), and how many
    deltas carried content (0 when not streamed)."""
    if mode == "sync":
        return create_chat_client(protocol.backend, model=protocol.model).create_completion(messages, **options), 0
    if mode == "stream":
        stream = create_chat_client(protocol.backend, model=protocol.model).create_stream(messages, **options)
        deltas = list(stream)
        return stream.message, sum(1 for d in deltas if d.content or d.reasoning_content or d.tool_calls)

    async def run() -> tuple[Any, int]:
        client = create_async_chat_client(protocol.backend, model=protocol.model)
        if mode == "async":
            return await client.create_completion(messages, **options), 0
        stream = client.create_stream(messages, **options)
        deltas = [d async for d in stream]
        return stream.message, sum(1 for d in deltas if d.content or d.reasoning_content or d.tool_calls)

    return asyncio.run(run())


def normalized(message: Any) -> dict[str, Any]:
    usage = message.usage
    return {
        "content": message.content,
        "reasoning_content": message.reasoning_content,
        "tool_calls": [(c.function.name, c.parsed_arguments()) for c in message.tool_calls or ()],
        "finish_reason": message.finish_reason,
        "usage": (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, usage.cached_tokens),
    }


def assert_usage_consistent(message: Any, protocol: Protocol) -> None:
    usage = message.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.cached_tokens + usage.cache_creation_tokens <= usage.prompt_tokens
    assert 0 <= usage.reasoning_tokens <= usage.completion_tokens
    if message.reasoning_content and protocol.reports_reasoning_tokens:
        assert usage.reasoning_tokens > 0
