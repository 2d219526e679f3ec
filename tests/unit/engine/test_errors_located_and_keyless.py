"""Every error a call can end with is typed, says where it came from (provider, endpoint id,
status, request id, the provider's message) — and never holds the key, even when the provider
echoes it back, in its text, repr, args, body, cause chain or the logs."""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    ContextLengthExceededError,
    PartialStreamError,
    ProviderError,
    RateLimited,
    RateLimitError,
    ResponseParseError,
    ServerError,
    VVLLMError,
)
from vv_llm.settings import settings
from vv_llm.testing import Reply, unused_port
from vv_llm.testing.settings import base_path
from vv_llm.utilities.endpoint_choice import cooldowns
from vv_llm.utilities.rate_limit import reset_memory_store

KEY = "sk-planted-SECRET-9f8e7d6c5b4a39281706"
USER = [{"role": "user", "content": "hello"}]
MODEL = {BackendType.OpenAI: "gpt-4o", BackendType.Anthropic: "claude-sonnet-4-5", BackendType.Gemini: "gemini-2.5-flash"}

# (name, reply or None, error type, HTTP status)
HTTP_CASES = [
    ("bad-request", Reply.error(400, "Invalid value for 'temperature'"), BadRequestError, 400),
    ("auth-echoing-the-key", Reply.error(401, f"Incorrect API key provided: {KEY}. Check it."), AuthenticationError, 401),
    ("forbidden-echoing-header", Reply.error(403, f"header authorization: Bearer {KEY} not allowed"), AuthenticationError, 403),
    (
        "context-length",
        Reply.error(400, "This model's maximum context length is 128000 tokens; prompt is too long"),
        ContextLengthExceededError,
        400,
    ),
    ("rate-limited", Reply.rate_limited(retry_after=3, message=f"Rate limit reached for key {KEY}"), RateLimitError, 429),
    ("server-error", Reply.error(500, "The server had an error while processing your request"), ServerError, 500),
    ("overloaded", Reply.error(503, "Service overloaded"), ServerError, 503),
]


def check(error: BaseException, caplog: pytest.LogCaptureFixture | None = None) -> None:
    """The key appears nowhere a user, a log or a bug report could see."""
    texts = [str(error), repr(error), repr(error.args), "".join(traceback.format_exception(error))]
    if isinstance(error, ProviderError):
        texts += [error.message, repr(error.body)]
        if isinstance(error, PartialStreamError):
            texts += [repr(error.partial)]
    if caplog is not None:
        texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert KEY not in text


@pytest.fixture
def use(fake_llm_server):
    def load(backend: BackendType, *, dead: bool = False, endpoint: dict[str, Any] | None = None, **extra: Any) -> None:
        base = f"http://127.0.0.1:{unused_port()}" if dead else fake_llm_server.url()
        settings.load(
            {
                "endpoints": [{"id": "planted", "api_base": base + base_path(backend), "api_key": KEY, **(endpoint or {})}],
                "backends": {backend.value: {"endpoints": ["planted"]}},
                "retry": {"max_attempts": 1},
                **extra,
            }
        )

    cooldowns.clear()
    reset_memory_store()
    yield load
    settings.reset()
    cooldowns.clear()
    reset_memory_store()


def call(mode: str, backend: BackendType, stream: bool = False, **options: Any) -> Any:
    model = MODEL[backend]
    if mode == "sync":
        client = create_chat_client(backend, model=model)
        if stream:
            return list(client.create_stream(USER, **options))
        return client.create_completion(USER, **options)

    async def main() -> Any:
        client = create_async_chat_client(backend, model=model)
        if stream:
            return [d async for d in client.create_stream(USER, **options)]
        return await client.create_completion(USER, **options)

    return asyncio.run(main())


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("backend", list(MODEL), ids=[b.value for b in MODEL])
@pytest.mark.parametrize(("name", "reply", "error_type", "status"), HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_http_errors_are_typed_located_and_keyless(use, fake_llm_server, caplog, mode, backend, name, reply, error_type, status):
    caplog.set_level(logging.DEBUG)
    use(backend)
    fake_llm_server.enqueue(reply)
    with pytest.raises(error_type) as info:
        call(mode, backend)
    error = info.value
    google_bad_key = backend is BackendType.Gemini and status == 401
    if google_bad_key:
        status = 400  # Google answers a bad key with its own 400 API_KEY_INVALID
    assert (error.status, error.endpoint_id) == (status, "planted")
    assert error.provider == backend.value
    if backend is not BackendType.Gemini:  # Google sends no request-id header
        assert error.request_id
    if not google_bad_key:
        assert reply.error_message.split(KEY)[0].strip() in str(error)  # the provider's own words are kept
        if KEY in reply.error_message:
            assert "***" in str(error)
    check(error, caplog)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_content_filtered(use, fake_llm_server, caplog, mode):
    use(BackendType.OpenAI)
    fake_llm_server.enqueue(
        Reply.error(400, "The response was filtered due to the prompt triggering content management policy", error_type="content_filter")
    )
    with pytest.raises(ContentFilteredError) as info:
        call(mode, BackendType.OpenAI)
    assert info.value.status == 400 and info.value.request_id
    check(info.value, caplog)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_connection_error(use, caplog, mode):
    caplog.set_level(logging.DEBUG)
    use(BackendType.OpenAI, dead=True)
    with pytest.raises(APIConnectionError) as info:
        call(mode, BackendType.OpenAI)
    assert (info.value.provider, info.value.endpoint_id, info.value.status) == ("openai", "planted", None)
    check(info.value, caplog)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_timeout(use, fake_llm_server, caplog, mode):
    caplog.set_level(logging.DEBUG)
    use(BackendType.OpenAI)
    fake_llm_server.enqueue(Reply(content="late", first_byte_delay=3))
    with pytest.raises(APITimeoutError) as info:
        call(mode, BackendType.OpenAI, timeout=0.3)
    assert (info.value.provider, info.value.endpoint_id) == ("openai", "planted")
    check(info.value, caplog)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_unreadable_response(use, fake_llm_server, caplog, mode):
    use(BackendType.OpenAI)
    fake_llm_server.enqueue(Reply(raw_body=f"<html>proxy error for {KEY}</html>".encode()))
    with pytest.raises(ResponseParseError) as info:
        call(mode, BackendType.OpenAI)
    assert (info.value.provider, info.value.endpoint_id) == ("openai", "planted")
    check(info.value, caplog)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_partial_stream(use, fake_llm_server, caplog, mode):
    use(BackendType.OpenAI)
    fake_llm_server.enqueue(
        Reply(content="abcdefgh", chunk_chars=2, stream_error_after_chunks=2, error_message=f"upstream died; key {KEY}")
    )
    with pytest.raises(PartialStreamError) as info:
        call(mode, BackendType.OpenAI, stream=True)
    error = info.value
    assert error.partial.content == "abcd" and (error.provider, error.endpoint_id) == ("openai", "planted")
    assert "upstream died" in str(error)
    check(error, caplog)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_our_own_rate_limit(use, caplog, mode):
    use(BackendType.OpenAI, endpoint={"rpm": 1}, rate_limit={"window_seconds": 60})
    call(mode, BackendType.OpenAI)
    with pytest.raises(RateLimited) as info:
        call(mode, BackendType.OpenAI, deadline=0.2)
    assert (info.value.endpoint_id, info.value.limit) == ("planted", "rpm")
    check(info.value, caplog)


def test_every_error_is_a_vvllm_error():
    for cls in (
        APIConnectionError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ContentFilteredError,
        ContextLengthExceededError,
        PartialStreamError,
        RateLimitError,
        ResponseParseError,
        ServerError,
        RateLimited,
    ):
        assert issubclass(cls, VVLLMError)
