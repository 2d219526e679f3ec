"""One conversation suite over every protocol family.

The same scenarios — plain, stream, async, tools across two turns, image, thinking/reasoning,
prompt-cache usage, typed errors — run against OpenAI-compatible, Anthropic, Gemini,
Vertex-Anthropic, Vertex-Gemini and Bedrock endpoints on the fake server. Each asserts that the
normalized result is the same everywhere (content, reasoning, tool call names and parsed
arguments, finish reason, usage) and that what reached the provider is right: each protocol's
request body is read back into one neutral form (roles, text, images, calls, results) and
compared, plus the protocol's own markers (path, streaming, auth, thinking, cache breakpoints).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.chat_clients.adapters.google_credentials import clear_credentials_cache
from vv_llm.errors import AuthenticationError, BadRequestError, InvalidRequestError, ServerError
from vv_llm.settings import settings
from vv_llm.testing import Reply, ToolCallSpec
from vv_llm.testing.protocol import RecordedRequest
from vv_llm.testing.settings import FAKE_KEY, fake_settings_dict
from vv_llm.utilities.tokens import acount_tokens_remote, count_tokens_remote, get_message_token_counts

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


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@pytest.fixture(params=PROTOCOLS, ids=lambda p: p.id)
def protocol(request, fake_settings, fake_llm_server, private_key_pem):
    """Every backend on the fake server, plus Vertex (Claude, Gemini) and Bedrock deployments."""
    clear_credentials_cache()
    load_scenario_settings(fake_llm_server, private_key_pem)
    yield request.param
    clear_credentials_cache()


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


# -- scenarios -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["sync", "stream", "async", "async_stream"])
def test_plain(protocol, fake_llm_server, mode):
    text = "Paris is the capital of France."
    fake_llm_server.enqueue(Reply(content=text, chunk_chars=6, prompt_tokens=21, completion_tokens=8))
    messages = [{"role": "system", "content": "Answer in one sentence."}, {"role": "user", "content": "Capital of France?"}]
    reply, chunks = ask(protocol, mode, messages, temperature=0.2, max_tokens=256)
    assert normalized(reply) == {
        "content": text,
        "reasoning_content": None,
        "tool_calls": [],
        "finish_reason": "stop",
        "usage": (21, 8, 29, 0),
    }
    assert_usage_consistent(reply, protocol)
    assert reply.endpoint_id and reply.provider_content is None
    if protocol.wire != "bedrock":  # Converse replies carry neither
        assert reply.id and reply.model, "streamed and plain replies both say which response and model they are"
    if mode.endswith("stream"):
        assert chunks == len(range(0, len(text), 6))
    (request,) = model_requests(fake_llm_server, protocol)
    assert protocol.streaming(request) == mode.endswith("stream")
    assert protocol.authenticated(request)
    assert protocol.turns(request.json) == [("system", [("text", "Answer in one sentence.")]), ("user", [("text", "Capital of France?")])]
    assert protocol.sampling(request.json) == (0.2, 256)


@pytest.mark.parametrize("mode", ["sync", "stream"])
def test_reported_prompt_tokens_are_our_own_count(protocol, fake_llm_server, mode):
    """The fake bills the prompt with vv-llm's tokenizers and overhead rules, so the estimate a
    caller (or the playground) makes before the call is the usage reported after it."""
    messages = [
        {"role": "system", "content": "You are a concise weather assistant. 回答要简短。"},
        {"role": "user", "content": "What's the weather like in Paris today? 🌤"},
    ]
    fake_llm_server.enqueue(Reply(content="Let me check."))
    reply, _ = ask(protocol, mode, messages, tools=[WEATHER])
    (request,) = model_requests(fake_llm_server, protocol)
    backend = None if protocol.backend is BackendType.OpenAI else protocol.backend
    model = request.json.get("model") or protocol.model
    assert reply.usage.prompt_tokens == get_message_token_counts(messages, [WEATHER], model, backend)


COUNT_PATHS = {
    "anthropic": "/v1/messages/count_tokens",
    "gemini": "/v1beta/models/gemini-2.5-flash:countTokens",
    "vertex-anthropic": "/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict",
    "vertex-gemini": "/locations/us-central1/publishers/google/models/gemini-2.5-pro:countTokens",
    "bedrock": "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens",  # the foundation model, not the us. profile
}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_the_provider_count_endpoint_agrees_with_the_billed_prompt(protocol, fake_llm_server, use_async):
    """``count_tokens_remote`` asks the provider's own count endpoint (each protocol's, with its
    credentials); the fake answers it as it bills the same prompt, and refuses what the real
    endpoint refuses (generation options in the body, a Bedrock inference-profile id)."""
    messages = [
        {"role": "system", "content": "You are a concise weather assistant."},
        {"role": "user", "content": [{"type": "text", "text": "What's this?"}, {"type": "image_url", "image_url": {"url": PNG_URL}}]},
    ]
    if protocol.backend is BackendType.OpenAI:
        with pytest.raises(InvalidRequestError, match="no token count endpoint; use get_message_token_counts"):
            count_tokens_remote(messages, protocol.backend, protocol.model)
        return
    if use_async:
        count = asyncio.run(acount_tokens_remote(messages, protocol.backend, protocol.model, [WEATHER]))
    else:
        count = count_tokens_remote(messages, protocol.backend, protocol.model, [WEATHER])
    (counted,) = [r for r in fake_llm_server.requests if r.protocol == f"{protocol.wire}-count"]
    assert protocol.authenticated(counted) and counted.path.endswith(COUNT_PATHS[protocol.wire])
    fake_llm_server.enqueue(Reply(content="A pixel."))
    reply, _ = ask(protocol, "sync", messages, tools=[WEATHER])
    assert count == reply.usage.prompt_tokens > 0


@pytest.mark.parametrize("mode", ["sync", "stream", "async_stream"])
def test_tools_across_two_turns(protocol, fake_llm_server, mode):
    calls = [ToolCallSpec("get_weather", {"city": "Paris"}), ToolCallSpec("get_weather", {"city": "Oslo", "unit": "c"})]
    fake_llm_server.enqueue(
        Reply(tool_calls=calls, chunk_chars=5, prompt_tokens=80, completion_tokens=30),
        Reply(content="Paris: 21°C. Oslo: 4°C.", prompt_tokens=140, completion_tokens=12),
    )
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris and Oslo?"}]
    first, _ = ask(protocol, mode, messages, tools=[WEATHER])
    assert normalized(first) == {
        "content": None,
        "reasoning_content": None,
        "tool_calls": [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo", "unit": "c"})],
        "finish_reason": "tool_calls",
        "usage": (80, 30, 110, 0),
    }
    ids = [c.id for c in first.tool_calls]
    assert len(set(ids)) == 2 and all(ids)
    messages += [
        first.to_openai_message(),
        {"role": "tool", "tool_call_id": ids[0], "content": json.dumps({"temp_c": 21})},
        {"role": "tool", "tool_call_id": ids[1], "content": json.dumps({"temp_c": 4})},
    ]
    second, _ = ask(protocol, mode, messages, tools=[WEATHER])
    assert normalized(second) == {
        "content": "Paris: 21°C. Oslo: 4°C.",
        "reasoning_content": None,
        "tool_calls": [],
        "finish_reason": "stop",
        "usage": (140, 12, 152, 0),
    }
    sent = [r.json for r in model_requests(fake_llm_server, protocol)]
    assert len(sent) == 2
    assert protocol.turns(sent[1]) == [
        ("user", [("text", "Weather in Paris and Oslo?")]),
        ("assistant", [("call", "get_weather", {"city": "Paris"}), ("call", "get_weather", {"city": "Oslo", "unit": "c"})]),
        ("user", [("result", "get_weather", {"temp_c": 21}), ("result", "get_weather", {"temp_c": 4})]),
    ]
    assert json.dumps(sent[0]).count("get_weather") == 1  # declared once, in the protocol's tool shape


def test_image(protocol, fake_llm_server, tmp_path):
    image = tmp_path / "pixel.png"
    image.write_bytes(PNG)
    fake_llm_server.enqueue(Reply(content="A single pixel.", prompt_tokens=300, completion_tokens=5))
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": str(image)}}]}
    ]
    reply, _ = ask(protocol, "sync", messages)
    assert normalized(reply) == {
        "content": "A single pixel.",
        "reasoning_content": None,
        "tool_calls": [],
        "finish_reason": "stop",
        "usage": (300, 5, 305, 0),
    }
    (request,) = model_requests(fake_llm_server, protocol)
    assert protocol.turns(request.json) == [("user", [("text", "What is this?"), ("image", "image/png", PNG_B64)])]


@pytest.mark.parametrize("mode", ["sync", "stream"])
def test_thinking(protocol, fake_llm_server, mode):
    fake_llm_server.enqueue(
        Reply(content="56", reasoning="Seven eights are fifty-six.", chunk_chars=7, prompt_tokens=30, completion_tokens=40),
        Reply(content="63", prompt_tokens=60, completion_tokens=3),
    )
    messages: list[dict[str, Any]] = [{"role": "user", "content": "7*8?"}]
    reply, _ = ask(protocol, mode, messages, reasoning_effort="low")
    assert normalized(reply) == {
        "content": "56",
        "reasoning_content": "Seven eights are fifty-six.",
        "tool_calls": [],
        "finish_reason": "stop",
        "usage": (30, 40, 70, 0),
    }
    assert_usage_consistent(reply, protocol)
    first = model_requests(fake_llm_server, protocol)[0].json
    assert protocol.thinking(first)
    # The next turn carries the reasoning's signature back where the protocol has one.
    messages += [reply.to_openai_message(), {"role": "user", "content": "And 7*9?"}]
    assert ask(protocol, mode, messages, reasoning_effort="low")[0].content == "63"
    second = model_requests(fake_llm_server, protocol)[1].json
    assert protocol.turns(second) == [
        ("user", [("text", "7*8?")]),
        ("assistant", [("text", "56")]),
        ("user", [("text", "And 7*9?")]),
    ]
    expected = 0 if protocol is OPENAI else 1
    assert len(protocol.signatures(second)) == expected
    assert "reasoning_content" not in json.dumps(second)


@pytest.mark.parametrize("mode", ["sync", "stream"])
def test_prompt_cache_usage(protocol, fake_llm_server, mode):
    fake_llm_server.enqueue(Reply(content="From cache.", prompt_tokens=5000, completion_tokens=4, cached_tokens=4096))
    system = "You are a meticulous assistant. " * 200
    reply, _ = ask(protocol, mode, [{"role": "system", "content": system}, {"role": "user", "content": "Hi"}], prompt_cache=True)
    assert normalized(reply) == {
        "content": "From cache.",
        "reasoning_content": None,
        "tool_calls": [],
        "finish_reason": "stop",
        "usage": (5000, 4, 5004, 4096),
    }
    assert reply.usage.cache_creation_tokens == 0
    assert_usage_consistent(reply, protocol)
    (request,) = model_requests(fake_llm_server, protocol)
    breakpoints = protocol.cache_breakpoints(request.json)
    assert (breakpoints > 0) == (protocol.backend is BackendType.Anthropic)
    assert protocol.turns(request.json)[0] == ("system", [("text", system)])


@pytest.mark.parametrize("kind", ["overloaded", "invalid_request", "auth"])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_errors_are_the_same_types(protocol, fake_llm_server, kind, use_async):
    options: dict[str, Any] = {}
    if kind == "overloaded":
        fake_llm_server.enqueue(Reply.error(protocol.overloaded_status, "Overloaded"))
        expected: type[Exception] = ServerError
    elif kind == "invalid_request":
        fake_llm_server.enqueue(Reply.error(400, "Invalid request: something is off"))
        expected = BadRequestError
    else:
        options = protocol.break_auth(fake_llm_server)
        expected = AuthenticationError
    messages = [{"role": "user", "content": "hello"}]
    with pytest.raises(expected) as caught:
        if use_async:
            asyncio.run(create_async_chat_client(protocol.backend, model=protocol.model).create_completion(messages, **options))
        else:
            create_chat_client(protocol.backend, model=protocol.model).create_completion(messages, **options)
    error = caught.value
    if kind == "invalid_request":
        assert type(error) is BadRequestError
    assert error.status is not None and error.status >= 400
    assert error.provider in {"openai", "anthropic", "gemini", "vertex", "bedrock"} and error.endpoint_id
    for text in (str(error), repr(error)):
        assert protocol.secret not in text and "ya29." not in text


def test_one_conversation_gives_identical_results_everywhere(fake_settings, fake_llm_server, private_key_pem):
    """The whole tool conversation, streamed, on every protocol in turn: one normalized transcript."""
    transcripts = {}
    for protocol in PROTOCOLS:
        load_scenario_settings(fake_llm_server, private_key_pem)
        fake_llm_server.reset()
        fake_llm_server.enqueue(
            Reply(
                reasoning="I need the weather.",
                tool_calls=[ToolCallSpec("get_weather", {"city": "Lima"})],
                prompt_tokens=50,
                completion_tokens=20,
            ),
            Reply(content="Lima is sunny.", prompt_tokens=90, completion_tokens=6),
        )
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Lima?"}]
        first, _ = ask(protocol, "stream", messages, tools=[WEATHER], reasoning_effort="low")
        messages += [first.to_openai_message(), {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "sunny"}]
        second, _ = ask(protocol, "stream", messages, tools=[WEATHER], reasoning_effort="low")
        sent = model_requests(fake_llm_server, protocol)[1].json
        transcripts[protocol.id] = (normalized(first), normalized(second), protocol.turns(sent))
    reference = transcripts["openai"]
    assert reference[0]["reasoning_content"] == "I need the weather." and reference[1]["content"] == "Lima is sunny."
    for name, transcript in transcripts.items():
        assert transcript == reference, name
