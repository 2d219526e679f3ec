"""The Anthropic stream decoder gives the same deltas whatever the reads: one event per read (as
the API writes them), many per read, or events cut anywhere — thinking with its signature, text,
tool calls with and without arguments, usage and the finish reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from vv_llm.chat_clients.accumulator import StreamAccumulator
from vv_llm.chat_clients.adapters import adapter_for
from vv_llm.settings import settings
from vv_llm.types.enums import BackendType


@pytest.fixture
def adapter() -> Iterator[Any]:
    settings.load(
        {
            "VERSION": "2",
            "endpoints": [{"id": "e", "api_base": "http://127.0.0.1:9/v1", "api_key": "sk-test"}],
            "backends": {"anthropic": {"models": {"m": {"id": "m", "endpoints": ["e"]}}}},
        }
    )
    yield adapter_for(BackendType.Anthropic, settings.resolve(BackendType.Anthropic, "m").endpoints[0])
    settings.reset()


def _events(line_end: str = "\n") -> list[str]:
    def event(kind: str, **data: Any) -> str:
        return f"event: {kind}{line_end}data: {json.dumps({'type': kind, **data})}{line_end}{line_end}"

    usage = {"input_tokens": 11, "output_tokens": 1, "cache_read_input_tokens": 4}
    return [
        event("message_start", message={"id": "msg_1", "model": "claude", "role": "assistant", "content": [], "usage": usage}),
        event("content_block_start", index=0, content_block={"type": "thinking", "thinking": "", "signature": ""}),
        event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "Let me "}),
        event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "think."}),
        event("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "sig=="}),
        event("content_block_stop", index=0),
        event("ping"),
        event("content_block_start", index=1, content_block={"type": "text", "text": ""}),
        *(event("content_block_delta", index=1, delta={"type": "text_delta", "text": word}) for word in ["Hel", "lo ", "你好", "!"]),
        event("content_block_stop", index=1),
        f": a comment{line_end}{line_end}",
        event("content_block_start", index=2, content_block={"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}),
        event("content_block_delta", index=2, delta={"type": "input_json_delta", "partial_json": '{"city": '}),
        event("content_block_delta", index=2, delta={"type": "input_json_delta", "partial_json": '"Paris"}'}),
        event("content_block_stop", index=2),
        event("content_block_start", index=3, content_block={"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}}),
        event("content_block_stop", index=3),
        event("message_delta", delta={"stop_reason": "tool_use", "stop_sequence": None}, usage={"output_tokens": 42}),
        event("message_stop"),
    ]


def _decode(adapter: Any, reads: list[bytes]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    decoder = adapter.stream_decoder()
    acc = StreamAccumulator("e")
    deltas = [d for read in reads for d in decoder.deltas(read)] + decoder.close()
    assert decoder.done
    for delta in deltas:
        acc.add(delta)
    return [d.model_dump() for d in deltas], acc.message().model_dump()


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_same_deltas_for_any_reads(adapter: Any, line_end: str) -> None:
    events = _events(line_end)
    body = "".join(events).encode()
    expected = _decode(adapter, [body])
    per_event = _decode(adapter, [e.encode() for e in events])
    assert per_event == expected
    for size in (1, 7, 60, 1 << 16):
        assert _decode(adapter, [body[i : i + size] for i in range(0, len(body), size)]) == expected
    message = expected[1]
    assert message["content"] == "Hello 你好!"
    assert message["reasoning_content"] == "Let me think."
    assert message["provider_content"] == [{"type": "thinking", "thinking": "Let me think.", "signature": "sig=="}]
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in message["tool_calls"]] == [
        ("toolu_1", "weather", '{"city": "Paris"}'),
        ("toolu_2", "now", "{}"),
    ]
    assert message["finish_reason"] == "tool_calls"
    assert (message["usage"]["prompt_tokens"], message["usage"]["completion_tokens"]) == (15, 42)
    assert (message["id"], message["model"]) == ("msg_1", "claude")
