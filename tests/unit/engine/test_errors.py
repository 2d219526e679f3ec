"""Bad input and provider failures give clear typed errors; nothing hangs; no key leaks."""

from __future__ import annotations

import asyncio

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.errors import (
    AuthenticationError,
    BadRequestError,
    ContextLengthExceededError,
    InvalidRequestError,
    PartialStreamError,
    ProviderError,
    RateLimitError,
    ResponseParseError,
    ServerError,
    SettingsError,
    UnknownModelError,
)
from vv_llm.settings import settings
from vv_llm.testing import Reply
from vv_llm.testing.settings import FAKE_KEY, fake_settings_dict

USER = [{"role": "user", "content": "hello"}]


@pytest.fixture
def client(fake_settings):
    return create_chat_client(BackendType.OpenAI, model="gpt-4o")


def assert_no_key(error: BaseException) -> None:
    for text in (str(error), repr(error), repr(error.args), repr(getattr(error, "body", None))):
        assert FAKE_KEY not in text


@pytest.mark.parametrize(
    "messages",
    [
        [],
        None,
        "hello",
        [{"content": "no role"}],
        [{"role": "robot", "content": "x"}],
        [{"role": "user"}],
        [{"role": "tool", "content": "x"}],
        [{"role": "user", "content": 5}],
    ],
    ids=["empty", "none", "string", "no-role", "bad-role", "no-content", "tool-without-id", "int-content"],
)
def test_bad_messages_are_refused_before_sending(client, fake_llm_server, messages):
    with pytest.raises(InvalidRequestError, match=r"messages"):
        client.create_completion(messages)
    assert fake_llm_server.requests == []


def test_missing_image_file_names_the_part(client, tmp_path):
    with pytest.raises(InvalidRequestError, match=r"messages\[0\]\.content\[1\]\.image_url: cannot read image file"):
        client.create_completion(
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": str(tmp_path / "nope.png")}}],
                }
            ]
        )


def test_unknown_model_at_call_time_names_known_models(client):
    with pytest.raises(UnknownModelError, match=r"unknown model 'gpt-7' for backend 'openai'; known: .*gpt-4o"):
        client.create_completion(USER, model="gpt-7")


def test_pinned_endpoint_that_does_not_serve_the_model(fake_settings):
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o", endpoint_id="fake-deepseek")
    with pytest.raises(SettingsError, match="endpoint 'fake-deepseek' does not serve model 'gpt-4o'"):
        client.create_completion(USER)


@pytest.mark.parametrize(
    ("reply", "error_type", "status"),
    [
        (Reply.error(400, "Invalid 'messages[0].content'"), BadRequestError, 400),
        (Reply.error(401, "Incorrect API key provided"), AuthenticationError, 401),
        (Reply.error(403, "Project does not have access"), AuthenticationError, 403),
        (
            Reply.error(400, "This model's maximum context length is 128000 tokens", error_type="invalid_request_error"),
            ContextLengthExceededError,
            400,
        ),
        (Reply.error(404, "The model does not exist"), BadRequestError, 404),
    ],
)
def test_http_errors_keep_status_provider_request_id_and_message(client, fake_llm_server, reply, error_type, status):
    fake_llm_server.enqueue(reply)
    with pytest.raises(error_type) as info:
        client.create_completion(USER)
    error = info.value
    assert (error.status, error.provider, error.endpoint_id) == (status, "openai", "fake-openai")
    assert error.request_id and error.request_id.startswith("req_")
    assert reply.error_message in str(error)
    assert_no_key(error)
    assert len(fake_llm_server.requests) == 1  # not retried


def test_server_errors_are_retried_then_reported(client, fake_llm_server):
    fake_llm_server.enqueue(Reply.error(503, "overloaded"), Reply.error(503, "overloaded"), Reply.error(503, "still overloaded"))
    with pytest.raises(ServerError, match="still overloaded") as info:
        client.create_completion(USER, timeout=5)
    assert info.value.status == 503 and len(fake_llm_server.requests) == 3
    assert_no_key(info.value)


def test_rate_limit_error_keeps_retry_after(fake_llm_server):
    data = fake_settings_dict(fake_llm_server)
    data["retry"] = {"max_attempts": 1}
    settings.load(data)
    try:
        fake_llm_server.enqueue(Reply.rate_limited(retry_after=7))
        with pytest.raises(RateLimitError) as info:
            create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER)
        assert info.value.retry_after == 7 and info.value.status == 429
    finally:
        settings.reset()


def test_non_json_response(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(raw_body=b"<html>502 Bad Gateway</html>"))
    with pytest.raises(ResponseParseError, match="response is not JSON"):
        client.create_completion(USER)


def test_html_error_page_keeps_status(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(status=400, raw_body=b"<html>nginx: bad request</html>"))
    with pytest.raises(BadRequestError, match="nginx: bad request") as info:
        client.create_completion(USER)
    assert info.value.status == 400


def test_malformed_stream_line_after_output_is_partial(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="abcdefghij", chunk_chars=2, malformed_after_chunks=2))
    stream = client.create_stream(USER)
    with pytest.raises(PartialStreamError, match="malformed stream data") as info:
        list(stream)
    assert info.value.partial.content == "abcd"
    assert stream.message.content == "abcd"


def test_stream_that_ends_without_done_is_partial(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="complete text?", end_stream_early=True))
    with pytest.raises(PartialStreamError, match="ended before the provider finished") as info:
        list(client.create_stream(USER))
    assert info.value.partial.content == "complete text?"


def test_in_stream_error_event_after_output_is_partial(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="abcdef", chunk_chars=2, stream_error_after_chunks=1, error_message="upstream overloaded"))
    with pytest.raises(PartialStreamError, match="upstream overloaded") as info:
        list(client.create_stream(USER))
    assert info.value.partial.content == "ab" and info.value.provider == "openai"


def test_connection_refused_is_a_typed_error(fake_llm_server):
    from vv_llm.errors import APIConnectionError
    from vv_llm.testing import unused_port

    settings.load(
        {
            "endpoints": [{"id": "dead", "api_base": f"http://127.0.0.1:{unused_port()}/v1", "api_key": FAKE_KEY}],
            "backends": {"openai": {"endpoints": ["dead"]}},
            "retry": {"max_attempts": 2, "backoff_initial": 0.01},
        }
    )
    try:
        with pytest.raises(APIConnectionError) as info:
            create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER)
        assert info.value.endpoint_id == "dead"
        assert_no_key(info.value)
    finally:
        settings.reset()


def test_async_errors_match_sync(fake_settings, fake_llm_server):
    fake_llm_server.enqueue(Reply.error(401, "bad key"))

    async def main():
        client = create_async_chat_client(BackendType.OpenAI, model="gpt-4o")
        with pytest.raises(AuthenticationError):
            await client.create_completion(USER)
        with pytest.raises(InvalidRequestError):
            await client.create_completion([])

    asyncio.run(main())


def test_every_error_is_a_provider_error_subclass_with_readable_str():
    error = ServerError("boom", provider="openai", endpoint_id="e", status=500, request_id="r")
    assert isinstance(error, ProviderError)
    assert str(error) == "boom (provider=openai, endpoint=e, status=500, request_id=r)"
