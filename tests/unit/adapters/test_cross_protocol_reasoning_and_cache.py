"""Thinking / reasoning and prompt caching over every protocol family: the same reasoning content and
usage everywhere, each protocol's own thinking switch, signatures sent back, cache breakpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vv_llm.chat_clients import BackendType
from vv_llm.testing import Reply

from ..cross_protocol import OPENAI, ask, assert_usage_consistent, model_requests, normalized


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
