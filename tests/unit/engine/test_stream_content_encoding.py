"""Streams arrive whole whether or not the provider compresses them (the transport reads an
unencoded body raw and a gzip- or deflate-encoded one through httpx's decoders)."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.testing import Reply

PIECES = ["Hel", "lo, ", "wor", "ld", "!"]


def sse_body() -> bytes:
    def chunk(delta: dict, finish: str | None = None) -> bytes:
        data = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    events = [chunk({"role": "assistant", "content": ""})] + [chunk({"content": p}) for p in PIECES] + [chunk({}, "stop")]
    return b"".join(events) + b"data: [DONE]\n\n"


ENCODINGS = {
    "identity": lambda body: body,
    "gzip": gzip.compress,
    "deflate": zlib.compress,
}


def encoded_reply(encoding: str) -> Reply:
    headers = {} if encoding == "identity" else {"content-encoding": encoding}
    return Reply(raw_body=ENCODINGS[encoding](sse_body()), raw_content_type="text/event-stream", headers=headers)


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_sync_stream_any_content_encoding(encoding, fake_settings, fake_llm_server):
    fake_llm_server.enqueue(encoded_reply(encoding))
    stream = create_chat_client(BackendType.OpenAI, model="gpt-4o").create_stream([{"role": "user", "content": "hi"}])
    assert [d.content for d in stream if d.content] == PIECES
    assert stream.message.content == "".join(PIECES)
    assert stream.message.finish_reason == "stop"


@pytest.mark.parametrize("encoding", list(ENCODINGS))
async def test_async_stream_any_content_encoding(encoding, fake_settings, fake_llm_server):
    fake_llm_server.enqueue(encoded_reply(encoding))
    client = create_async_chat_client(BackendType.OpenAI, model="gpt-4o")
    stream = client.create_stream([{"role": "user", "content": "hi"}])
    assert [d.content async for d in stream if d.content] == PIECES
    assert stream.message.content == "".join(PIECES)
