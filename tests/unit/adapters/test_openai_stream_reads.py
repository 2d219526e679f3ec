"""The OpenAI stream decoder gives the same deltas whatever the reads: one event per read, or
many (its text lane, and think-tag splitting that stops once the think block is over)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from vv_llm.chat_clients.adapters import adapter_for
from vv_llm.settings import settings
from vv_llm.types.enums import BackendType


@pytest.fixture
def adapter_of() -> Iterator[Any]:
    def make(backend: BackendType, name: str) -> Any:
        settings.load(
            {
                "VERSION": "2",
                "endpoints": [{"id": "e", "api_base": "http://127.0.0.1:9/v1", "api_key": "sk-test"}],
                "backends": {name: {"models": {"m": {"id": "m", "endpoints": ["e"]}}}},
            }
        )
        return adapter_for(backend, settings.resolve(backend, "m").endpoints[0])

    yield make
    settings.reset()


def _body(pieces: list[str]) -> bytes:
    def event(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> str:
        chunk: dict[str, Any] = {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage:
            chunk["usage"] = usage
        return f"data: {json.dumps(chunk)}\n\n"

    events = [event({"role": "assistant", "content": ""})]
    events += [event({"content": piece}) for piece in pieces]
    events += [event({"content": "!"}, "stop"), event({}, None, {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12})]
    return ("".join(events) + "data: [DONE]\n\n").encode()


def _decode(adapter: Any, body: bytes, size: int) -> list[dict[str, Any]]:
    decoder = adapter.stream_decoder()
    deltas = [d for i in range(0, len(body), size) for d in decoder.deltas(body[i : i + size])] + decoder.close()
    assert decoder.done
    return [d.model_dump() for d in deltas]


PIECES = ["<thi", "nk>step 1", " < 2</th", "ink>\n", "The ", "answer", " </think> stays", "."]


@pytest.mark.parametrize(("backend", "name"), [(BackendType.DeepSeek, "deepseek"), (BackendType.OpenAI, "openai")])
@pytest.mark.parametrize("size", [3, 50, 400, 1 << 16])
def test_same_deltas_for_any_reads(adapter_of: Any, backend: BackendType, name: str, size: int) -> None:
    adapter = adapter_of(backend, name)
    body = _body(PIECES)
    one_event_per_read = []
    decoder = adapter.stream_decoder()
    for event in body.split(b"\n\n")[:-1]:
        one_event_per_read += [d.model_dump() for d in decoder.deltas(event + b"\n\n")]
    assert _decode(adapter, body, size) == one_event_per_read
    content = "".join(d["content"] or "" for d in one_event_per_read)
    reasoning = "".join(d["reasoning_content"] or "" for d in one_event_per_read)
    if backend is BackendType.DeepSeek:
        assert (reasoning, content) == ("step 1 < 2", "The answer </think> stays.!")
    else:
        assert (reasoning, content) == ("", "".join(PIECES) + "!")
    assert one_event_per_read[-2]["finish_reason"] == "stop" and one_event_per_read[-1]["usage"]["total_tokens"] == 12
