"""Random, truncated and malformed provider bytes: the stream decoders and ``parse_response`` of
every protocol raise only vv-llm's typed errors — never another exception type, never a hang —
and what a decoder adds up as it goes (the stream's message, or its partial output) is exactly
the deltas it handed out, added up."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vv_llm.chat_clients.accumulator import StreamAccumulator
from vv_llm.chat_clients.adapters import adapter_for
from vv_llm.chat_clients.adapters.base import HttpResponse
from vv_llm.errors import VVLLMError
from vv_llm.settings.store import Settings
from vv_llm.types.enums import BackendType

from ..fuzz_guard import no_hang

FUZZ = settings(
    max_examples=int(os.environ.get("VV_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Keys the decoders look at, so random objects reach deep into their branches.
KEYS = [
    "choices", "delta", "message", "content", "reasoning_content", "reasoning", "tool_calls", "function", "name", "arguments",
    "index", "id", "type", "usage", "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details",
    "completion_tokens_details", "cached_tokens", "finish_reason", "error", "text", "thinking", "signature", "content_block",
    "partial_json", "stop_reason", "input", "candidates", "parts", "functionCall", "args", "finishReason", "usageMetadata",
    "promptTokenCount", "candidatesTokenCount", "thought", "thoughtSignature", "promptFeedback", "blockReason", "role",
    "contentBlockIndex", "start", "toolUse", "toolUseId", "reasoningContent", "reasoningText", "stopReason", "output",
    "inputTokens", "outputTokens", "code", "status", "details", "modelVersion", "responseId", "safetyRatings",
]  # fmt: skip
TYPES = [
    "message_start", "message_delta", "message_stop", "content_block_start", "content_block_delta", "content_block_stop",
    "text_delta", "thinking_delta", "signature_delta", "input_json_delta", "text", "thinking", "tool_use",
    "redacted_thinking", "error", "ping", "function",
]  # fmt: skip

scalars = (
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.sampled_from(TYPES) | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
    max_leaves=25,
)
json_objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)


def _adapters() -> dict[str, Any]:
    store = Settings()
    store.load(
        {
            "endpoints": [
                {"id": "plain", "api_base": "http://127.0.0.1:9/v1", "api_key": "sk-fuzz"},
                {"id": "anthropic", "api_base": "http://127.0.0.1:9", "api_key": "sk-fuzz"},
                {"id": "gemini", "api_base": "http://127.0.0.1:9/v1beta", "api_key": "sk-fuzz"},
                {
                    "id": "bedrock",
                    "api_base": "http://127.0.0.1:9",
                    "is_bedrock": True,
                    "region": "us-east-1",
                    "credentials": {"access_key_id": "AKIAFUZZ", "secret_access_key": "fuzz-secret"},
                },
            ],
            "backends": {
                "openai": {"endpoints": ["plain"]},
                "deepseek": {"endpoints": ["plain"]},
                "anthropic": {"endpoints": ["anthropic"]},
                "gemini": {"endpoints": ["gemini"]},
                "mistral": {"endpoints": ["bedrock"], "models": {"mistral-on-bedrock": {"id": "mistral.mistral-large"}}},
            },
        }
    )

    def build(backend: BackendType, model: str | None = None) -> Any:
        return adapter_for(backend, store.resolve(backend, model).endpoints[0])

    return {
        "openai": build(BackendType.OpenAI),
        "deepseek-think-tags": build(BackendType.DeepSeek),
        "anthropic": build(BackendType.Anthropic),
        "gemini": build(BackendType.Gemini),
        "bedrock": build(BackendType.Mistral, "mistral-on-bedrock"),
    }


ADAPTERS = _adapters()
SSE_ADAPTERS = ["openai", "deepseek-think-tags", "anthropic", "gemini"]


def run_decoder(adapter: Any, pieces: list[bytes]) -> None:
    """Feed ``pieces`` as a stream does (each delta taken as it is handed out), up to the end or
    a typed error; then the decoder's sum must be the sum of what it handed out."""
    decoder = adapter.stream_decoder()
    handed_out = []
    with no_hang():
        try:
            for piece in pieces:
                handed_out.extend(decoder.deltas(piece))
            handed_out.extend(decoder.close())
        except VVLLMError:
            pass
    expected = StreamAccumulator(adapter.endpoint.id)
    for delta in handed_out:
        expected.add(delta)
    assert decoder.acc.chunks == expected.chunks == len(handed_out)
    assert decoder.acc.message() == expected.message()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(data[last:point])
        last = point
    pieces.append(data[last:])
    return pieces


def sse(events: list[tuple[str | None, str]]) -> bytes:
    out = []
    for event, data in events:
        head = f"event: {event}\n" if event else ""
        out.append(f"{head}data: {data}\n\n")
    return "".join(out).encode()


@pytest.mark.parametrize("name", list(ADAPTERS))
@FUZZ
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=6))
def test_random_bytes(name, data, cuts):
    run_decoder(ADAPTERS[name], split(data, cuts))


@pytest.mark.parametrize("name", SSE_ADAPTERS)
@FUZZ
@given(
    events=st.lists(st.tuples(st.none() | st.sampled_from(TYPES), json_values.map(json.dumps) | st.text(max_size=30)), max_size=6),
    cuts=st.lists(st.integers(0, 2000), max_size=5),
    truncate=st.none() | st.integers(0, 2000),
)
def test_sse_events_with_random_json(name, events, cuts, truncate):
    data = sse(events)
    if truncate is not None:
        data = data[:truncate]
    run_decoder(ADAPTERS[name], split(data, cuts))


@pytest.mark.parametrize("name", SSE_ADAPTERS)
@FUZZ
@given(chunks=st.lists(st.tuples(st.none() | st.sampled_from(TYPES), json_objects), min_size=1, max_size=6))
def test_sse_events_shaped_like_chunks(name, chunks):
    events = [(event, json.dumps({**payload, "type": event} if event else payload)) for event, payload in chunks]
    run_decoder(ADAPTERS[name], [sse(events), sse([(None, "[DONE]")])])


EVENTS = ["messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata", "other"]


@FUZZ
@given(
    frames=st.lists(st.tuples(st.sampled_from(EVENTS), json_values, st.sampled_from(["event", "exception", "error"])), max_size=5),
    cuts=st.lists(st.integers(0, 3000), max_size=5),
    truncate=st.none() | st.integers(0, 3000),
)
def test_bedrock_event_stream_frames(frames, cuts, truncate):
    from vv_llm.testing.wires.aws_eventstream import frame

    data = b"".join(
        frame(
            {":event-type": event, ":message-type": kind, ":exception-type": event, ":content-type": "application/json"},
            json.dumps(payload).encode(),
        )
        for event, payload, kind in frames
    )
    if truncate is not None:
        data = data[:truncate]
    run_decoder(ADAPTERS["bedrock"], split(data, cuts))


@pytest.mark.parametrize("name", list(ADAPTERS))
@FUZZ
@given(
    body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()) | json_objects.map(lambda v: json.dumps(v).encode())
)
def test_parse_response(name, body):
    adapter = ADAPTERS[name]
    with no_hang():
        try:
            adapter.parse_response(HttpResponse(200, {}, body))
        except VVLLMError:
            pass


@pytest.mark.parametrize("name", list(ADAPTERS))
@FUZZ
@given(
    status=st.sampled_from([400, 401, 403, 404, 413, 422, 429, 500, 503, 529]),
    body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
    retry_after=st.none() | st.text(max_size=12),
)
def test_error_responses_are_typed(name, status, body, retry_after):
    adapter = ADAPTERS[name]
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    error = adapter.error_from_response(HttpResponse(status, headers, body))
    assert isinstance(error, VVLLMError) and error.status == status
    str(error), repr(error)


@pytest.mark.parametrize(
    ("name", "chunk"),
    [
        ("openai", {"id": 7, "model": [], "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]}),
        ("gemini", {"responseId": {}, "modelVersion": [], "candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}}]}),
    ],
)
def test_a_chunk_naming_its_id_or_model_with_a_non_string_keeps_the_text(name, chunk):
    # Found by the sum check above: the message could not be built (a pydantic ValidationError
    # from stream.message, and from the partial output of a failed stream).
    decoder = ADAPTERS[name].stream_decoder()
    assert [d.content for d in decoder.deltas(sse([(None, json.dumps(chunk))]))] == ["Hi"]
    message = decoder.acc.message()
    assert (message.content, message.id, message.model) == ("Hi", None, None)
