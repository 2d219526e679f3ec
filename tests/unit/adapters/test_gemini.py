"""The Gemini API (generateContent / streamGenerateContent) through the public API, against the fake
server speaking Google's wire format."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.errors import (
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    ContextLengthExceededError,
    InvalidRequestError,
    PartialStreamError,
    RateLimitError,
    ServerError,
    SettingsError,
)
from vv_llm.settings import settings
from vv_llm.testing import Reply, ToolCallSpec
from vv_llm.testing.settings import FAKE_KEY, fake_settings_dict
from vv_llm.testing.wires.gemini import PROMPT_BLOCKED

MODEL = "gemini-2.5-flash"
PATH = f"/v1beta/models/{MODEL}:generateContent"
STREAM_PATH = f"/v1beta/models/{MODEL}:streamGenerateContent"
USER = [{"role": "user", "content": "hello"}]
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": ["string", "null"], "enum": ["c", "f"]}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture
def client(fake_settings):
    return create_chat_client(BackendType.Gemini, model=MODEL)


def body(server) -> dict:
    return server.last_request.json


def collect(stream):
    deltas = list(stream)
    return deltas, stream.message


# -- plain calls -----------------------------------------------------------------------------
def test_completion_request_and_reply(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="Paris.", prompt_tokens=11, completion_tokens=2))
    reply = client.create_completion(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}],
        temperature=0.3,
        top_p=0.9,
        max_tokens=64,
        stop=["\n\n"],
    )
    assert reply.content == "Paris." and reply.finish_reason == "stop" and reply.reasoning_content is None
    assert reply.usage.model_dump() == {
        "prompt_tokens": 11,
        "completion_tokens": 2,
        "total_tokens": 13,
        "cached_tokens": 0,
        "cache_creation_tokens": 0,
        "reasoning_tokens": 0,
    }
    assert reply.endpoint_id == "fake-gemini" and reply.model == MODEL and reply.id
    request = fake_llm_server.last_request
    assert request.path == PATH and request.query == {}
    assert request.headers["x-goog-api-key"] == FAKE_KEY and "authorization" not in request.headers
    assert request.json == {
        "contents": [{"role": "user", "parts": [{"text": "Capital of France?"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.3, "topP": 0.9, "maxOutputTokens": 64, "stopSequences": ["\n\n"]},
    }


def test_conversation_roles_and_merging(client, fake_llm_server):
    client.create_completion(
        [
            {"role": "system", "content": "A"},
            {"role": "developer", "content": [{"type": "text", "text": "B"}]},
            {"role": "user", "content": "one"},
            {"role": "user", "content": [{"type": "text", "text": "two"}]},
            {"role": "assistant", "content": "answer"},
            {"role": "user", "content": "three"},
        ]
    )
    sent = body(fake_llm_server)
    assert sent["systemInstruction"] == {"parts": [{"text": "A"}, {"text": "B"}]}
    assert sent["contents"] == [
        {"role": "user", "parts": [{"text": "one"}, {"text": "two"}]},
        {"role": "model", "parts": [{"text": "answer"}]},
        {"role": "user", "parts": [{"text": "three"}]},
    ]


def test_extra_arguments_land_in_generation_config(client, fake_llm_server):
    client.create_completion(
        USER, seed=7, top_k=20, presence_penalty=0.5, safetySettings=[{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    )
    sent = body(fake_llm_server)
    assert sent["generationConfig"] == {"seed": 7, "topK": 20, "presencePenalty": 0.5}
    assert sent["safetySettings"] == [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]


def test_response_format_json_schema(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content='{"answer": 42}'))
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"], "additionalProperties": False}
    reply = client.create_completion(
        USER, response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema, "strict": True}}
    )
    assert json.loads(reply.content) == {"answer": 42} == reply.parsed
    assert body(fake_llm_server)["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": schema}
    fake_llm_server.enqueue(Reply(content='{"answer": 42}'))
    client.create_completion(
        USER, model="gemini-2.0-flash", response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}
    )
    assert body(fake_llm_server)["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {"type": "OBJECT", "properties": {"answer": {"type": "INTEGER"}}, "required": ["answer"]},
    }
    client.create_completion(USER, response_format={"type": "json_object"})
    assert body(fake_llm_server)["generationConfig"] == {"responseMimeType": "application/json"}


# -- streaming -------------------------------------------------------------------------------
def test_stream_chunks_usage_and_end(client, fake_llm_server):
    text = "Streaming over server-sent events, CRLF framed."
    fake_llm_server.enqueue(Reply(content=text, chunk_chars=5, prompt_tokens=9, completion_tokens=12))
    deltas, message = collect(client.create_stream(USER))
    pieces = [d.content for d in deltas if d.content]
    assert "".join(pieces) == text and len(pieces) == len(range(0, len(text), 5))
    assert message.content == text and message.finish_reason == "stop"
    assert message.usage.prompt_tokens == 9 and message.usage.completion_tokens == 12 and message.usage.total_tokens == 21
    assert [d.finish_reason for d in deltas].count("stop") == 1 and deltas[-1].finish_reason == "stop"
    request = fake_llm_server.last_request
    assert request.path == STREAM_PATH and request.query == {"alt": "sse"}
    assert request.headers["accept"] == "text/event-stream"


def test_stream_without_finish_is_partial(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="cut short here", chunk_chars=4, end_stream_early=True))
    stream = client.create_stream(USER)
    with pytest.raises(PartialStreamError) as caught:
        list(stream)
    assert caught.value.partial.content == "cut short here" and caught.value.provider == "gemini"


def test_stream_error_event_after_output(client, fake_llm_server):
    fake_llm_server.enqueue(
        Reply(content="abcdefghijkl", chunk_chars=3, stream_error_after_chunks=2, error_message="The model is overloaded.")
    )
    with pytest.raises(PartialStreamError) as caught:
        list(client.create_stream(USER))
    assert caught.value.partial.content == "abcdef"
    assert "overloaded" in str(caught.value)


def test_malformed_stream(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="abcdefgh", chunk_chars=2, malformed_after_chunks=2))
    with pytest.raises(PartialStreamError) as caught:
        list(client.create_stream(USER))
    assert caught.value.partial.content == "abcd"


async def test_async_completion_and_stream(fake_settings, fake_llm_server):
    client = create_async_chat_client(BackendType.Gemini, model=MODEL)
    fake_llm_server.enqueue(Reply(content="async hello"), Reply(content="async stream", chunk_chars=3))
    reply = await client.create_completion(USER)
    assert reply.content == "async hello"
    stream = client.create_stream(USER)
    pieces = [d.content async for d in stream if d.content]
    assert "".join(pieces) == "async stream" and stream.message.finish_reason == "stop"
    replies = await asyncio.gather(*(client.create_completion([{"role": "user", "content": f"q{i}"}]) for i in range(5)))
    assert [r.content.endswith(f"You said: q{i}") for i, r in enumerate(replies)] == [True] * 5


# -- tools -----------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_tools_two_turns(client, fake_llm_server, stream):
    calls = [ToolCallSpec("get_weather", {"city": "Paris"}), ToolCallSpec("get_weather", {"city": "Oslo", "unit": "c"})]
    fake_llm_server.enqueue(Reply(tool_calls=calls), Reply(content="Paris 20°C, Oslo 5°C."))
    messages = [{"role": "user", "content": "Weather in Paris and Oslo?"}]
    if stream:
        _, first = collect(client.create_stream(messages, tools=[WEATHER], tool_choice="auto"))
    else:
        first = client.create_completion(messages, tools=[WEATHER], tool_choice="auto")
    assert first.finish_reason == "tool_calls" and first.content is None
    assert [(c.function.name, c.parsed_arguments()) for c in first.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Oslo", "unit": "c"}),
    ]
    ids = [c.id for c in first.tool_calls]
    assert len(set(ids)) == 2 and all(i.startswith("call_") for i in ids)
    sent = body(fake_llm_server)
    assert sent["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {"city": {"type": "STRING"}, "unit": {"type": "STRING", "enum": ["c", "f"], "nullable": True}},
                        "required": ["city"],
                    },
                }
            ]
        }
    ]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    messages += [
        first.to_openai_message(),
        {"role": "tool", "tool_call_id": ids[1], "content": '{"temp_c": 5}'},
        {"role": "tool", "tool_call_id": ids[0], "content": "20 degrees"},
    ]
    second = client.create_completion(messages, tools=[WEATHER])
    assert second.content == "Paris 20°C, Oslo 5°C." and second.finish_reason == "stop"
    contents = body(fake_llm_server)["contents"]
    assert contents[1] == {
        "role": "model",
        "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_weather", "args": {"city": "Oslo", "unit": "c"}}},
        ],
    }
    assert contents[2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp_c": 5}}},
            {"functionResponse": {"name": "get_weather", "response": {"output": "20 degrees"}}},
        ],
    }


def test_tool_ids_are_stable_per_response(client, fake_llm_server):
    call = ToolCallSpec("get_weather", {"city": "Rome"})
    fake_llm_server.enqueue(Reply(tool_calls=[call]), Reply(tool_calls=[call]), Reply(tool_calls=[call]))
    first = client.create_completion(USER, tools=[WEATHER]).tool_calls[0].id
    second = client.create_completion(USER, tools=[WEATHER]).tool_calls[0].id
    assert first != second  # the same call in another response is another call
    deltas, message = collect(client.create_stream(USER, tools=[WEATHER]))
    assert [d.tool_calls[0].id for d in deltas if d.tool_calls] == [message.tool_calls[0].id]


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
    ],
)
def test_tool_choice(client, fake_llm_server, choice, config):
    client.create_completion(USER, tools=[WEATHER], tool_choice=choice)
    assert body(fake_llm_server)["toolConfig"] == {"functionCallingConfig": config}


def test_tool_message_without_its_call_is_a_clear_error(client, fake_llm_server):
    with pytest.raises(InvalidRequestError, match="answers no earlier assistant tool call"):
        client.create_completion([*USER, {"role": "tool", "tool_call_id": "call_x", "content": "1"}])
    assert fake_llm_server.requests == []


def test_schema_refs_are_inlined(client, fake_llm_server):
    tool = {
        "type": "function",
        "function": {
            "name": "book",
            "parameters": {
                "type": "object",
                "$defs": {"Guest": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
                "properties": {
                    "guests": {"type": "array", "items": {"$ref": "#/$defs/Guest"}},
                    "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                },
            },
        },
    }
    client.create_completion(USER, tools=[tool])
    parameters = body(fake_llm_server)["tools"][0]["functionDeclarations"][0]["parameters"]
    assert parameters == {
        "type": "OBJECT",
        "properties": {
            "guests": {"type": "ARRAY", "items": {"type": "OBJECT", "properties": {"name": {"type": "STRING"}}, "required": ["name"]}},
            "note": {"type": "STRING", "nullable": True},
        },
    }


# -- images ----------------------------------------------------------------------------------
def test_images(client, fake_llm_server, tmp_path):
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    data_url = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0fake").decode()
    client.create_completion(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare"},
                    {"type": "image_url", "image_url": {"url": str(path)}},
                    {"type": "image_url", "image_url": data_url},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp?size=2"}},
                    {"type": "image_url", "image_url": {"url": "gs://bucket/dog.png"}},
                ],
            }
        ]
    )
    parts = body(fake_llm_server)["contents"][0]["parts"]
    assert parts == [
        {"text": "Compare"},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}},
        {"inlineData": {"mimeType": "image/jpeg", "data": base64.b64encode(b"\xff\xd8\xff\xe0fake").decode()}},
        {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/cat.webp?size=2"}},
        {"fileData": {"mimeType": "image/png", "fileUri": "gs://bucket/dog.png"}},
    ]


def test_image_url_of_unknown_type_is_a_clear_error(client, fake_llm_server):
    with pytest.raises(InvalidRequestError, match="cannot tell the image type"):
        client.create_completion(
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://cdn.example.com/i/123"}}]}]
        )
    assert fake_llm_server.requests == []


# -- thinking --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "config"),
    [
        ({"thinking": True}, {"includeThoughts": True}),
        ({"thinking": {"budget_tokens": 2048}}, {"includeThoughts": True, "thinkingBudget": 2048}),
        ({"thinking": False}, {"thinkingBudget": 0}),
        ({"reasoning_effort": "low"}, {"includeThoughts": True, "thinkingBudget": 1024}),
    ],
)
def test_thinking_config(client, fake_llm_server, options, config):
    client.create_completion(USER, **options)
    assert body(fake_llm_server)["generationConfig"] == {"thinkingConfig": config}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_thoughts_become_reasoning_and_signatures_round_trip(client, fake_llm_server, stream):
    fake_llm_server.enqueue(Reply(content="42", reasoning="six times seven", chunk_chars=4, completion_tokens=30), Reply(content="ok"))
    messages = [{"role": "user", "content": "6*7?"}]
    if stream:
        deltas, reply = collect(client.create_stream(messages, thinking=True))
        assert "".join(d.reasoning_content or "" for d in deltas) == "six times seven"
    else:
        reply = client.create_completion(messages, thinking=True)
    assert reply.content == "42" and reply.reasoning_content == "six times seven"
    assert reply.usage.reasoning_tokens > 0 and reply.usage.completion_tokens == 30
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 30
    kept = reply.provider_content
    assert kept and any("thoughtSignature" in p for p in kept)
    client.create_completion([*messages, reply.to_openai_message(), {"role": "user", "content": "and 6*8?"}], thinking=True)
    assert body(fake_llm_server)["contents"][1] == {"role": "model", "parts": kept}


def test_gemini_3_function_calls_need_their_signature(fake_llm_server, fake_settings):
    data = fake_settings_dict(fake_llm_server)
    data["backends"]["gemini"]["models"] = {"gemini-3-pro-preview": {"context_length": 1048576, "max_output_tokens": 65536}}
    settings.load(data)
    client = create_chat_client(BackendType.Gemini, model="gemini-3-pro-preview")
    fake_llm_server.enqueue(Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Lima"})]), Reply(content="sunny"))
    first = client.create_completion(USER, tools=[WEATHER])
    result = {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "sunny"}
    assert client.create_completion([*USER, first.to_openai_message(), result], tools=[WEATHER]).content == "sunny"
    # Without provider_content the signature is lost, and Gemini 3 refuses the turn.
    bare = first.to_openai_message()
    bare.pop("provider_content")
    with pytest.raises(BadRequestError, match="thought_signature") as caught:
        client.create_completion([*USER, bare, result], tools=[WEATHER])
    assert caught.value.status == 400 and caught.value.provider == "gemini"


# -- usage, finish reasons, safety -----------------------------------------------------------
def test_cached_tokens(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="cached", prompt_tokens=4000, completion_tokens=3, cached_tokens=3072))
    usage = client.create_completion(USER, prompt_cache=True).usage
    assert (usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens, usage.total_tokens) == (4000, 3072, 3, 4003)
    assert "cachedContent" not in body(fake_llm_server)  # implicit caching: nothing to ask for


@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        ("length", "length"),
        ("RECITATION", "content_filter"),
        ("SPII", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "malformed_function_call"),
    ],
)
def test_finish_reasons(client, fake_llm_server, finish, expected):
    fake_llm_server.enqueue(Reply(content="partial", finish_reason=finish))
    assert client.create_completion(USER).finish_reason == expected


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_blocked_answer_is_a_content_filter_finish(client, fake_llm_server, stream):
    fake_llm_server.enqueue(Reply(content="never shown", safety_block=True))
    reply = collect(client.create_stream(USER))[1] if stream else client.create_completion(USER)
    assert reply.finish_reason == "content_filter" and not reply.content


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_blocked_prompt_raises_content_filtered(client, fake_llm_server, stream):
    fake_llm_server.enqueue(Reply(safety_block=True, finish_reason=PROMPT_BLOCKED))
    with pytest.raises(ContentFilteredError, match="blockReason SAFETY") as caught:
        if stream:
            list(client.create_stream(USER))
        else:
            client.create_completion(USER)
    assert caught.value.provider == "gemini" and caught.value.endpoint_id == "fake-gemini"


# -- errors ----------------------------------------------------------------------------------
def test_rate_limit_retry_info_then_success(client, fake_llm_server):
    data = fake_settings_dict(fake_llm_server)
    data["retry"] = {"max_attempts": 2, "backoff_initial": 0, "backoff_max": 0}
    settings.load(data)
    fake_llm_server.enqueue(Reply.rate_limited(retry_after=0), Reply(content="after the quota reset"))
    assert client.create_completion(USER).content == "after the quota reset"
    data["retry"] = {"max_attempts": 1}
    settings.load(data)
    fake_llm_server.enqueue(Reply.rate_limited(retry_after=37, message="Resource has been exhausted (e.g. check quota)."))
    with pytest.raises(RateLimitError) as caught:
        client.create_completion(USER)
    assert caught.value.status == 429 and caught.value.retry_after == 37 and caught.value.provider == "gemini"
    assert "Resource has been exhausted" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (503, "The model is overloaded. Please try again later.", ServerError),
        (529, "Overloaded", ServerError),
        (500, "An internal error has occurred.", ServerError),
        (400, "Invalid value at 'contents[0]'", BadRequestError),
        (403, "Permission denied on resource project x.", AuthenticationError),
        (400, "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", ContextLengthExceededError),
    ],
)
def test_errors_are_typed(fake_llm_server, fake_settings, status, message, error):
    data = fake_settings_dict(fake_llm_server)
    data["retry"] = {"max_attempts": 1}
    settings.load(data)
    fake_llm_server.enqueue(Reply.error(status, message))
    with pytest.raises(error) as caught:
        create_chat_client(BackendType.Gemini, model=MODEL).create_completion(USER)
    assert caught.value.provider == "gemini" and caught.value.endpoint_id == "fake-gemini"
    assert caught.value.status == (503 if status == 529 else status)
    assert message.split(" (")[0] in str(caught.value)


def test_wrong_key_is_an_authentication_error_without_the_key(client, fake_llm_server):
    fake_llm_server.api_keys = {"the-right-key"}
    for call in (lambda: client.create_completion(USER), lambda: list(client.create_stream(USER))):
        with pytest.raises(AuthenticationError) as caught:
            call()
        assert caught.value.status == 400 and "API key not valid" in str(caught.value)
        assert FAKE_KEY not in str(caught.value) and FAKE_KEY not in repr(caught.value)


async def test_async_errors(fake_settings, fake_llm_server):
    data = fake_settings_dict(fake_llm_server)
    data["retry"] = {"max_attempts": 1}
    settings.load(data)
    client = create_async_chat_client(BackendType.Gemini, model=MODEL)
    fake_llm_server.enqueue(Reply.error(503, "The model is overloaded."))
    with pytest.raises(ServerError):
        await client.create_completion(USER)
    fake_llm_server.enqueue(Reply(safety_block=True, finish_reason=PROMPT_BLOCKED))
    with pytest.raises(ContentFilteredError):
        async for _ in client.create_stream(USER):
            pass


def test_missing_api_key_fails_at_client_creation(fake_llm_server):
    data = fake_settings_dict(fake_llm_server)
    for endpoint in data["endpoints"]:
        if endpoint["id"] == "fake-gemini":
            del endpoint["api_key"]
    settings.load(data)
    try:
        with pytest.raises(SettingsError, match=r"endpoints\[fake-gemini\]\.api_key"):
            create_chat_client(BackendType.Gemini, model=MODEL)
    finally:
        settings.reset()
