"""The fake server's Anthropic wire format, checked by an independent parser: the official anthropic SDK."""

from __future__ import annotations

import anthropic
import pytest

from vv_llm.testing import Reply, ToolCallSpec

MODEL = "claude-fake-model"  # any id: the fake answers for every model
USER = [{"role": "user", "content": "hi"}]
TOOL = {"name": "lookup", "description": "Look up", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}


@pytest.fixture
def sdk(fake_llm_server):
    with anthropic.Anthropic(base_url=fake_llm_server.url(), api_key="sk-ant-test", max_retries=0) as client:
        yield client


def test_sdk_parses_our_json_reply(sdk, fake_llm_server):
    fake_llm_server.enqueue(
        Reply(
            content="Hello there",
            reasoning="Think first.",
            signature="sig-xyz",
            tool_calls=[ToolCallSpec("lookup", {"q": "x"}, id="toolu_9")],
            prompt_tokens=100,
            cached_tokens=60,
            cache_creation_tokens=30,
            completion_tokens=7,
        )
    )
    message = sdk.messages.create(
        model=MODEL, max_tokens=4096, messages=USER, tools=[TOOL], thinking={"type": "enabled", "budget_tokens": 2048}
    )
    assert message.type == "message" and message.role == "assistant" and message.model == MODEL
    assert message.stop_reason == "tool_use"
    thinking, text, tool = message.content
    assert thinking.type == "thinking" and thinking.thinking == "Think first." and thinking.signature == "sig-xyz"
    assert text.type == "text" and text.text == "Hello there"
    assert tool.type == "tool_use" and tool.id == "toolu_9" and tool.name == "lookup" and tool.input == {"q": "x"}
    usage = message.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens, usage.output_tokens) == (10, 60, 30, 7)
    assert message._request_id and message._request_id.startswith("req_")


def test_sdk_accumulates_our_stream(sdk, fake_llm_server):
    fake_llm_server.enqueue(
        Reply(
            content="one two three",
            reasoning="hmm, let me see",
            signature="sig-stream",
            tool_calls=[ToolCallSpec("lookup", {"q": "weather in Zürich"}, id="toolu_7")],
            chunk_chars=4,
            prompt_tokens=50,
            cached_tokens=20,
            completion_tokens=11,
        )
    )
    with sdk.messages.stream(
        model=MODEL, max_tokens=4096, messages=USER, tools=[TOOL], thinking={"type": "enabled", "budget_tokens": 2048}
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert {"thinking", "signature", "text", "input_json", "content_block_start", "content_block_stop", "message_delta"} <= set(kinds)
    thinking, text, tool = final.content
    assert thinking.thinking == "hmm, let me see" and thinking.signature == "sig-stream"
    assert text.text == "one two three"
    assert tool.id == "toolu_7" and tool.input == {"q": "weather in Zürich"}
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens == 11 and final.usage.input_tokens == 30 and final.usage.cache_read_input_tokens == 20


def test_sdk_sees_our_errors_as_the_real_apis(sdk, fake_llm_server):
    fake_llm_server.enqueue(Reply.error(529, "Overloaded"))
    with pytest.raises(anthropic.InternalServerError) as info:
        sdk.messages.create(model=MODEL, max_tokens=10, messages=USER)
    assert info.value.status_code == 529
    assert info.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert info.value.request_id and info.value.request_id.startswith("req_")

    fake_llm_server.enqueue(Reply.error(400, "bad things"))
    with pytest.raises(anthropic.BadRequestError) as bad:
        sdk.messages.create(model=MODEL, max_tokens=10, messages=USER)
    assert bad.value.body["error"]["type"] == "invalid_request_error"


def test_sdk_raises_our_in_stream_error(sdk, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="abcdefgh", chunk_chars=2, stream_error_after_chunks=2, error_message="Overloaded"))
    with (
        pytest.raises(anthropic.APIStatusError, match="Overloaded"),
        sdk.messages.stream(model=MODEL, max_tokens=10, messages=USER) as stream,
    ):
        for _ in stream:
            pass


def test_sdk_rejects_bad_key_like_the_real_api(sdk, fake_llm_server):
    fake_llm_server.api_keys = {"sk-other"}
    with pytest.raises(anthropic.AuthenticationError):
        sdk.messages.create(model=MODEL, max_tokens=10, messages=USER)


def test_fake_checks_requests_like_the_real_api(sdk, fake_llm_server):
    with pytest.raises(anthropic.BadRequestError, match="budget_tokens"):
        sdk.messages.create(model=MODEL, max_tokens=1000, messages=USER, thinking={"type": "enabled", "budget_tokens": 2048})
    with pytest.raises(anthropic.BadRequestError, match="tool_result"):
        sdk.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_nowhere", "content": "x"}]}],
        )
    marked = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    with pytest.raises(anthropic.BadRequestError, match="maximum of 4"):
        sdk.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": [marked] * 5}])
