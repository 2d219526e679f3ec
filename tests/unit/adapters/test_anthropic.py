"""The Anthropic backend through the public API, against the fake server's Messages API."""

from __future__ import annotations

import asyncio
import base64

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.errors import (
    AuthenticationError,
    BadRequestError,
    ContextLengthExceededError,
    PartialStreamError,
    RateLimitError,
    ServerError,
    SettingsError,
)
from vv_llm.settings import settings
from vv_llm.testing import Reply, ToolCallSpec
from vv_llm.testing.settings import FAKE_KEY, fake_settings_dict

MODEL = "claude-sonnet-4-5"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
USER = [{"role": "user", "content": "hello"}]


@pytest.fixture
def client(fake_settings):
    return create_chat_client(BackendType.Anthropic, model=MODEL)


@pytest.fixture
def quick_retry(fake_llm_server):
    data = fake_settings_dict(fake_llm_server)
    data["retry"] = {"max_attempts": 2, "backoff_initial": 0.0, "backoff_max": 0.0}
    settings.load(data)
    yield create_chat_client(BackendType.Anthropic, model=MODEL)
    settings.reset()


def body_of(server) -> dict:
    return server.last_request.json


def run(stream) -> object:
    for _ in stream:
        pass
    return stream.message


def test_completion_speaks_the_messages_api(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="Paris.", prompt_tokens=30, completion_tokens=3))
    reply = client.create_completion(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}], temperature=0.3, top_p=0.9
    )
    assert reply.content == "Paris." and reply.finish_reason == "stop"
    assert reply.usage.prompt_tokens == 30 and reply.usage.completion_tokens == 3 and reply.usage.total_tokens == 33
    assert reply.id.startswith("msg_") and reply.model == MODEL and reply.endpoint_id == "fake-anthropic"
    request = fake_llm_server.last_request
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == FAKE_KEY and request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "model": MODEL,
        "max_tokens": 8192,
        "messages": [{"role": "user", "content": "Capital of France?"}],
        "system": "Be brief.",
        "temperature": 0.3,
        "top_p": 0.9,
    }


def test_max_tokens_default_follows_the_model(fake_llm_server):
    data = fake_settings_dict(fake_llm_server)
    data["backends"]["anthropic"]["models"] = {"small-claude": {"id": "claude-x", "max_output_tokens": 2000}}
    settings.load(data)
    try:
        create_chat_client(BackendType.Anthropic, model="small-claude").create_completion(USER)
        assert body_of(fake_llm_server)["max_tokens"] == 2000
        create_chat_client(BackendType.Anthropic, model=MODEL).create_completion(USER, max_tokens=123)
        assert body_of(fake_llm_server)["max_tokens"] == 123
    finally:
        settings.reset()


def test_stream(client, fake_llm_server):
    text = "Streaming works across many small chunks."
    fake_llm_server.enqueue(Reply(content=text, chunk_chars=3, prompt_tokens=12, completion_tokens=9))
    stream = client.create_stream(USER)
    pieces = [d.content for d in stream if d.content]
    assert "".join(pieces) == text and len(pieces) == len(range(0, len(text), 3))
    message = stream.message
    assert message.content == text and message.finish_reason == "stop"
    assert message.usage.prompt_tokens == 12 and message.usage.completion_tokens == 9
    assert message.id.startswith("msg_") and message.model == MODEL
    assert body_of(fake_llm_server)["stream"] is True
    assert fake_llm_server.last_request.headers["accept"] == "text/event-stream"


def test_async_completion_and_stream(fake_settings, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="async one"), Reply(content="async two", chunk_chars=2, reasoning="why", chunk_delay=0))

    async def main():
        client = create_async_chat_client(BackendType.Anthropic, model=MODEL)
        reply = await client.create_completion(USER)
        stream = client.create_stream(USER, thinking=True)
        pieces = [d.content async for d in stream if d.content]
        return reply, pieces, stream.message

    reply, pieces, message = asyncio.run(main())
    assert reply.content == "async one"
    assert "".join(pieces) == "async two"
    assert message.reasoning_content == "why" and message.provider_content == [
        {"type": "thinking", "thinking": "why", "signature": "sig-demo"}
    ]


def test_consecutive_turns_of_a_role_are_merged(client, fake_llm_server):
    client.create_completion(
        [
            {"role": "system", "content": "one"},
            {"role": "user", "content": "first"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
            {"role": "system", "content": "two"},
            {"role": "assistant", "content": "ok"},
            {"role": "assistant", "content": "more"},
            {"role": "user", "content": "third"},
        ]
    )
    body = body_of(fake_llm_server)
    assert body["system"] == "one\n\ntwo"
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}, {"type": "text", "text": "more"}]},
        {"role": "user", "content": "third"},
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_tools_across_two_turns(client, fake_llm_server, stream):
    fake_llm_server.enqueue(
        Reply(
            content="Let me check.",
            tool_calls=[
                ToolCallSpec("get_weather", {"city": "Zürich"}, id="toolu_A"),
                ToolCallSpec("get_weather", {"city": "Bern"}, id="toolu_B"),
            ],
            chunk_chars=4,
        )
    )
    messages = [{"role": "user", "content": "Weather in Zürich and Bern?"}]
    result = client.create_completion(messages, tools=[WEATHER_TOOL], tool_choice="auto", stream=stream)
    if stream:
        result = run(result)
    assert result.finish_reason == "tool_calls" and result.content == "Let me check."
    assert [(c.id, c.function.name, c.parsed_arguments()) for c in result.tool_calls] == [
        ("toolu_A", "get_weather", {"city": "Zürich"}),
        ("toolu_B", "get_weather", {"city": "Bern"}),
    ]
    body = body_of(fake_llm_server)
    assert body["tools"] == [
        {"name": "get_weather", "description": "Weather for a city", "input_schema": WEATHER_TOOL["function"]["parameters"]}
    ]
    assert body["tool_choice"] == {"type": "auto"}

    fake_llm_server.enqueue(Reply(content="Sunny in both."))
    follow_up = [
        *messages,
        result.to_openai_message(),
        {"role": "tool", "tool_call_id": "toolu_A", "content": "sunny"},
        {"role": "tool", "tool_call_id": "toolu_B", "content": "also sunny"},
        {"role": "user", "content": "Thanks"},
    ]
    final = client.create_completion(follow_up, tools=[WEATHER_TOOL], stream=stream)
    if stream:
        final = run(final)
    assert final.content == "Sunny in both."
    sent = body_of(fake_llm_server)["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {"city": "Zürich"}},
            {"type": "tool_use", "id": "toolu_B", "name": "get_weather", "input": {"city": "Bern"}},
        ],
    }
    assert sent[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_A", "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_B", "content": "also sunny"},
            {"type": "text", "text": "Thanks"},
        ],
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ],
    ids=["required", "none", "named"],
)
def test_tool_choice(client, fake_llm_server, choice, expected):
    client.create_completion(USER, tools=[WEATHER_TOOL], tool_choice=choice)
    assert body_of(fake_llm_server)["tool_choice"] == expected


def test_tool_without_arguments_streams_an_empty_object(client, fake_llm_server):
    fake_llm_server.enqueue(
        Reply(tool_calls=[ToolCallSpec("now", {}, id="toolu_0")]), Reply(tool_calls=[ToolCallSpec("now", {}, id="toolu_0")])
    )
    tool = {"type": "function", "function": {"name": "now"}}
    plain = client.create_completion(USER, tools=[tool])
    streamed = run(client.create_stream(USER, tools=[tool]))
    assert plain.tool_calls[0].function.arguments == streamed.tool_calls[0].function.arguments == "{}"
    assert body_of(fake_llm_server)["tools"] == [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]


def test_images_become_image_blocks(client, fake_llm_server, tmp_path):
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    client.create_completion(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What are these?"},
                    {"type": "image_url", "image_url": {"url": data_url}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                    {"type": "image_url", "image_url": {"url": str(path)}},
                ],
            }
        ]
    )
    content = body_of(fake_llm_server)["messages"][0]["content"]
    b64 = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()}}
    assert content == [
        {"type": "text", "text": "What are these?"},
        b64,
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        b64,
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_thinking(client, fake_llm_server, stream):
    fake_llm_server.enqueue(Reply(content="42", reasoning="Six times seven.", signature="sig-abc", chunk_chars=5))
    result = client.create_completion(USER, thinking=True, temperature=0.5, stream=stream)
    if stream:
        result = run(result)
    assert result.content == "42" and result.reasoning_content == "Six times seven."
    assert result.provider_content == [{"type": "thinking", "thinking": "Six times seven.", "signature": "sig-abc"}]
    body = body_of(fake_llm_server)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] > 2048
    assert "temperature" not in body  # Anthropic accepts only 1 with thinking


def test_thinking_budget_keeps_max_tokens_for_the_answer(client, fake_llm_server):
    client.create_completion(USER, thinking={"budget_tokens": 10000}, max_tokens=1000)
    body = body_of(fake_llm_server)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 10000}
    assert body["max_tokens"] == 11000


def test_thinking_blocks_go_back_before_tool_use(client, fake_llm_server):
    fake_llm_server.enqueue(
        Reply(reasoning="Need the weather.", signature="sig-1", tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"}, id="toolu_1")])
    )
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    first = run(client.create_stream(messages, tools=[WEATHER_TOOL], thinking=True))
    assert first.finish_reason == "tool_calls"
    turn = [*messages, first.to_openai_message(), {"role": "tool", "tool_call_id": "toolu_1", "content": "-3°C"}]
    fake_llm_server.enqueue(Reply(content="Cold."))
    assert client.create_completion(turn, tools=[WEATHER_TOOL], thinking=True).content == "Cold."
    assistant = body_of(fake_llm_server)["messages"][1]
    assert assistant["content"][0] == {"type": "thinking", "thinking": "Need the weather.", "signature": "sig-1"}
    assert assistant["content"][1]["type"] == "tool_use"

    # Without the kept blocks the API refuses the turn (and so does the fake).
    stripped = dict(first.to_openai_message())
    del stripped["provider_content"]
    with pytest.raises(BadRequestError, match="must start with a thinking block"):
        client.create_completion([*messages, stripped, turn[2]], tools=[WEATHER_TOOL], thinking=True)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_prompt_cache(client, fake_llm_server, stream):
    fake_llm_server.enqueue(Reply(content="cached", prompt_tokens=2000, cached_tokens=1500, cache_creation_tokens=300, completion_tokens=5))
    messages = [
        {"role": "system", "content": "A long system prompt."},
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": "three"},
        {"role": "assistant", "content": "four"},
        {"role": "user", "content": "five"},
    ]
    result = client.create_completion(messages, tools=[WEATHER_TOOL], prompt_cache=True, stream=stream)
    if stream:
        result = run(result)
    usage = result.usage
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_creation_tokens, usage.completion_tokens) == (2000, 1500, 300, 5)
    assert usage.total_tokens == 2005
    body = body_of(fake_llm_server)
    ephemeral = {"type": "ephemeral"}
    assert body["system"] == [{"type": "text", "text": "A long system prompt.", "cache_control": ephemeral}]
    assert body["tools"][-1]["cache_control"] == ephemeral
    assert body["messages"][0] == {"role": "user", "content": "one"}
    assert body["messages"][2] == {"role": "user", "content": [{"type": "text", "text": "three", "cache_control": ephemeral}]}
    assert body["messages"][4] == {"role": "user", "content": [{"type": "text", "text": "five", "cache_control": ephemeral}]}


def test_without_prompt_cache_no_breakpoints(client, fake_llm_server):
    client.create_completion([{"role": "system", "content": "s"}, *USER], tools=[WEATHER_TOOL])
    assert "cache_control" not in fake_llm_server.last_request.body.decode()


@pytest.mark.parametrize(
    ("finish", "expected"),
    [("length", "length"), ("content_filter", "content_filter"), ("stop_sequence", "stop"), ("pause_turn", "pause_turn")],
)
def test_stop_reasons(client, fake_llm_server, finish, expected):
    fake_llm_server.enqueue(Reply(content="x", finish_reason=finish), Reply(content="x", finish_reason=finish))
    assert client.create_completion(USER, stop=["END"]).finish_reason == expected
    assert body_of(fake_llm_server)["stop_sequences"] == ["END"]
    assert run(client.create_stream(USER, stop="END")).finish_reason == expected
    assert body_of(fake_llm_server)["stop_sequences"] == ["END"]


def test_json_object_is_a_forced_tool_call(client, fake_llm_server):
    """Anthropic has no JSON mode: a free-form object comes back as a forced tool call's input."""
    reply = client.create_completion([{"role": "system", "content": "Be terse."}, *USER], response_format={"type": "json_object"})
    body = body_of(fake_llm_server)
    assert body["tool_choice"] == {"type": "tool", "name": "response"}
    assert body["tools"][0]["input_schema"] == {"type": "object"} and "response_format" not in body
    assert isinstance(reply.parsed, dict) and reply.tool_calls is None and reply.finish_reason == "stop"
    assert reply.request_report.structured_output == "tool"


def test_extra_parameters_pass_through(client, fake_llm_server):
    client.create_completion(USER, tools=[WEATHER_TOOL], top_k=5, parallel_tool_calls=False, metadata={"user_id": "u1"})
    body = body_of(fake_llm_server)
    assert body["top_k"] == 5 and body["metadata"] == {"user_id": "u1"}
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert "parallel_tool_calls" not in body


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "error_type", "status"),
    [
        (Reply.error(400, "messages: text content blocks must be non-empty"), BadRequestError, 400),
        (Reply.error(401, "invalid x-api-key"), AuthenticationError, 401),
        (Reply.error(403, "not allowed"), AuthenticationError, 403),
        (Reply.error(400, "prompt is too long: 210000 tokens > 200000 maximum"), ContextLengthExceededError, 400),
        (Reply.error(429, "Number of request tokens has exceeded your rate limit", headers={"retry-after": "3"}), RateLimitError, 429),
        (Reply.error(529, "Overloaded"), ServerError, 529),
    ],
    ids=["invalid", "auth", "permission", "context", "rate", "overloaded"],
)
def test_http_errors_are_typed(fake_llm_server, reply, error_type, status):
    data = fake_settings_dict(fake_llm_server)
    data["retry"] = {"max_attempts": 1}
    settings.load(data)
    try:
        fake_llm_server.enqueue(reply)
        with pytest.raises(error_type) as info:
            create_chat_client(BackendType.Anthropic, model=MODEL).create_completion(USER)
    finally:
        settings.reset()
    error = info.value
    assert type(error) is error_type
    assert error.status == status and error.provider == "anthropic" and error.endpoint_id == "fake-anthropic"
    assert error.request_id and error.request_id.startswith("req_")
    assert reply.error_message in str(error) and error.body["type"] == "error"
    assert FAKE_KEY not in str(error) and FAKE_KEY not in repr(error.body)
    if status == 429:
        assert error.retry_after == 3


def test_overloaded_is_retried(quick_retry, fake_llm_server):
    fake_llm_server.enqueue(Reply.error(529, "Overloaded"), Reply(content="second try"))
    assert quick_retry.create_completion(USER).content == "second try"
    assert len(fake_llm_server.requests) == 2


def test_wrong_key_is_an_authentication_error(client, fake_llm_server):
    fake_llm_server.api_keys = {"sk-someone-else"}
    with pytest.raises(AuthenticationError) as info:
        client.create_completion(USER)
    assert info.value.status == 401 and FAKE_KEY not in str(info.value)


def test_in_stream_error_before_output_fails_over(quick_retry, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="never", stream_error_after_chunks=0), Reply(content="recovered"))
    assert run(quick_retry.create_stream(USER)).content == "recovered"


def test_in_stream_error_after_output_is_partial(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="abcdefghijkl", chunk_chars=3, stream_error_after_chunks=2, error_message="Overloaded"))
    stream = client.create_stream(USER)
    with pytest.raises(PartialStreamError) as info:
        run(stream)
    assert info.value.partial.content == "abcdef"
    assert "Overloaded" in str(info.value) and isinstance(info.value.__cause__, ServerError)


def test_stream_cut_before_message_stop_is_partial(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="abcdef", end_stream_early=True))
    with pytest.raises(PartialStreamError) as info:
        run(client.create_stream(USER))
    assert info.value.partial.content == "abcdef"


def test_missing_api_key_fails_at_client_creation(fake_llm_server):
    data = fake_settings_dict(fake_llm_server)
    next(e for e in data["endpoints"] if e["id"] == "fake-anthropic").pop("api_key")
    settings.load(data)
    try:
        with pytest.raises(SettingsError) as info:
            create_chat_client(BackendType.Anthropic, model=MODEL)
    finally:
        settings.reset()
    assert info.value.errors[0][0] == "endpoints[fake-anthropic].api_key"
