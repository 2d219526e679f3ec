"""The same conversation over every protocol family (``cross_protocol.PROTOCOLS``): plain, stream and
async answers, tools across two turns, an image, and one streamed tool conversation giving the same
normalized transcript everywhere — with what reached each provider read back and compared."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vv_llm.testing import Reply, ToolCallSpec

from ..cross_protocol import (
    PNG,
    PNG_B64,
    PROTOCOLS,
    WEATHER,
    ask,
    assert_usage_consistent,
    load_scenario_settings,
    model_requests,
    normalized,
)


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
