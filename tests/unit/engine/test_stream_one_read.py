"""Streams whose whole body arrives in one read (a fast server, or a stream read after a pause).

Deltas are decoded one at a time as they are taken, so everything before a broken event is
delivered (and kept as partial output), and a read carrying a whole stream gives the same reply
as one event per read.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.chat_clients.adapters import adapter_for
from vv_llm.errors import PartialStreamError
from vv_llm.settings import settings
from vv_llm.testing import Reply

USER = [{"role": "user", "content": "hello"}]
WORDS = ["Hello", ",", " one", " read"]


def openai_body(words: list[str], broken_after: int | None = None) -> bytes:
    events = [{"id": "c1", "model": "gpt-4o", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [{"id": "c1", "model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": w}}]} for w in words]
    events.append({"id": "c1", "model": "gpt-4o", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({"id": "c1", "model": "gpt-4o", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})
    lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
    if broken_after is not None:
        lines.insert(1 + broken_after, 'data: {"choices": [\n\n')
    return "".join(lines).encode()


def anthropic_body(words: list[str], broken_after: int | None = None) -> bytes:
    def event(kind: str, **data: object) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    usage = {"input_tokens": 3, "output_tokens": 1}
    lines = [
        event(
            "message_start",
            message={"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": [], "usage": usage},
        ),
        event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
    ]
    lines += [event("content_block_delta", index=0, delta={"type": "text_delta", "text": w}) for w in words]
    if broken_after is not None:
        lines.insert(2 + broken_after, "event: content_block_delta\ndata: {not json\n\n")
    lines += [
        event("content_block_stop", index=0),
        event("message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 4}),
        event("message_stop"),
    ]
    return "".join(lines).encode()


CASES = [
    pytest.param(BackendType.OpenAI, "gpt-4o", openai_body, id="openai"),
    pytest.param(BackendType.Anthropic, "claude-sonnet-4-5", anthropic_body, id="anthropic"),
]


def one_read(body: bytes) -> Reply:
    return Reply(raw_body=body, raw_content_type="text/event-stream")


async def collect(backend: BackendType, model: str) -> tuple[list[str], object]:
    stream = await create_async_chat_client(backend, model=model).create_stream(USER)
    pieces = [delta.content async for delta in stream if delta.content]
    return pieces, stream.message


@pytest.mark.parametrize(("backend", "model", "body"), CASES)
def test_a_whole_stream_in_one_read_is_the_same_reply(fake_settings, fake_llm_server, backend, model, body):
    fake_llm_server.enqueue(one_read(body(WORDS)))
    stream = create_chat_client(backend, model=model).create_stream(USER)
    assert [d.content for d in stream if d.content] == WORDS
    message = stream.message
    assert message.content == "".join(WORDS) and message.finish_reason == "stop"
    assert message.usage is not None and (message.usage.prompt_tokens, message.usage.completion_tokens) == (3, 4)

    fake_llm_server.enqueue(one_read(body(WORDS)))
    pieces, message = asyncio.run(collect(backend, model))
    assert pieces == WORDS and message.content == "".join(WORDS) and message.usage.total_tokens == 7  # type: ignore[attr-defined]


@pytest.mark.parametrize(("backend", "model", "body"), CASES)
def test_a_broken_event_in_the_same_read_keeps_everything_before_it(fake_settings, fake_llm_server, backend, model, body):
    fake_llm_server.enqueue(one_read(body(WORDS, broken_after=2)))
    stream = create_chat_client(backend, model=model).create_stream(USER)
    received = []
    with pytest.raises(PartialStreamError, match="malformed stream data") as info:
        for delta in stream:
            received.append(delta.content)
    assert [c for c in received if c] == WORDS[:2]
    assert info.value.partial.content == "Hello," and stream.message.content == "Hello,"

    fake_llm_server.enqueue(one_read(body(WORDS, broken_after=2)))
    with pytest.raises(PartialStreamError, match="malformed stream data") as async_info:
        asyncio.run(collect(backend, model))
    assert async_info.value.partial.content == "Hello,"


def test_decoder_hands_out_deltas_as_they_are_taken(fake_settings):
    adapter = adapter_for(BackendType.OpenAI, settings.resolve(BackendType.OpenAI, "gpt-4o").endpoints[0])
    decoder = adapter.stream_decoder()
    deltas = decoder.deltas(openai_body(WORDS, broken_after=3))
    taken = [next(deltas).content for _ in range(4)]  # the role delta, then three words
    assert taken == ["", *WORDS[:3]]
    with pytest.raises(Exception, match="malformed stream data"):
        next(deltas)
