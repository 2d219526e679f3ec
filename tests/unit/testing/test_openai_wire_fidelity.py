"""The fake server's OpenAI wire format, checked by an independent parser: the official openai SDK."""

from __future__ import annotations

import json

import openai
import pytest

from vv_llm.testing import Reply, ToolCallSpec


@pytest.fixture
def sdk(fake_llm_server):
    with openai.OpenAI(base_url=fake_llm_server.url("/v1"), api_key="sk-test", max_retries=0) as client:
        yield client


def test_sdk_parses_our_json_reply(sdk, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="Hello there", tool_calls=[ToolCallSpec("lookup", {"q": "x"}, id="call_9")], cached_tokens=3))
    completion = sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.message.content == "Hello there" and choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].function.name == "lookup"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"q": "x"}
    assert completion.usage.prompt_tokens_details.cached_tokens == 3
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_sdk_parses_our_stream(sdk, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="one two three", reasoning="hmm", tool_calls=[ToolCallSpec("f", {"a": 1})], chunk_chars=4))
    chunks = list(
        sdk.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
        )
    )
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == "one two three"
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
    assert reasoning == "hmm"
    arguments = "".join(
        tc.function.arguments or "" for c in chunks if c.choices and c.choices[0].delta.tool_calls for tc in c.choices[0].delta.tool_calls
    )
    assert json.loads(arguments) == {"a": 1}
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["tool_calls"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_sdk_sees_our_errors_as_the_real_apis(sdk, fake_llm_server):
    fake_llm_server.enqueue(Reply.rate_limited(retry_after=2))
    with pytest.raises(openai.RateLimitError) as info:
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 429 and info.value.code == "rate_limit_exceeded"
    assert info.value.request_id and info.value.request_id.startswith("req_")


def test_sdk_rejects_bad_key_like_the_real_api(sdk, fake_llm_server):
    fake_llm_server.api_keys = {"sk-other"}
    with pytest.raises(openai.AuthenticationError):
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
