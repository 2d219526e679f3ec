"""``count_tokens_remote``: the provider's own count endpoint, over real sockets to the fake server.

The fake's count endpoints answer with vv-llm's count of the body they received (in the provider's
own shape), so an exact match also proves the messages, system prompt and tools arrived as the
provider expects them. Every deployment (Vertex, Bedrock) is covered in ``test_cross_protocol_counts``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from vv_llm.errors import AuthenticationError, InvalidRequestError, RateLimitError
from vv_llm.testing.script import Reply
from vv_llm.testing.settings import FAKE_KEY
from vv_llm.utilities.tokens import acount_tokens_remote, count_tokens_remote, get_message_token_counts

from .test_helpers import png_data_url

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {
        "role": "user",
        "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": png_data_url(1000, 1000)}}],
    },
]


def test_anthropic_count_endpoint(fake_settings: Any, fake_llm_server: Any) -> None:
    count = count_tokens_remote(MESSAGES, "anthropic", "claude-sonnet-4-5", [WEATHER_TOOL])
    assert count == get_message_token_counts(MESSAGES, [WEATHER_TOOL], "claude-sonnet-4-5")
    request = fake_llm_server.requests[-1]
    assert request.path == "/v1/messages/count_tokens"
    assert request.headers["x-api-key"] and request.headers["anthropic-version"]
    body = request.json
    assert set(body) == {"model", "messages", "system", "tools"}  # no max_tokens, stream or sampling options
    assert body["messages"][0]["content"][1]["type"] == "image"


async def test_async_and_gemini(fake_settings: Any, fake_llm_server: Any) -> None:
    count = await acount_tokens_remote(MESSAGES, "gemini", "gemini-2.5-flash", [WEATHER_TOOL])
    assert isinstance(count, int) and count > 0
    request = fake_llm_server.requests[-1]
    assert request.path == "/v1beta/models/gemini-2.5-flash:countTokens"
    inner = request.json["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.5-flash"
    assert set(inner) == {"model", "contents", "systemInstruction", "tools"}


def test_provider_errors_are_typed_and_keys_stay_out(fake_settings: Any, fake_llm_server: Any) -> None:
    fake_llm_server.enqueue(Reply.error(401, f"invalid x-api-key {FAKE_KEY}"))  # some providers echo the key
    with pytest.raises(AuthenticationError) as caught:
        count_tokens_remote(MESSAGES, "anthropic", "claude-sonnet-4-5")
    assert caught.value.endpoint_id == "fake-anthropic"
    assert FAKE_KEY not in str(caught.value) and FAKE_KEY not in repr(caught.value.body)
    fake_llm_server.enqueue(Reply.rate_limited(retry_after=3))
    with pytest.raises(RateLimitError):
        count_tokens_remote(MESSAGES, "gemini", "gemini-2.5-flash")


def test_the_fake_refuses_what_the_count_endpoint_refuses(fake_settings: Any, fake_llm_server: Any) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-api-key": FAKE_KEY, "anthropic-version": "2023-06-01"}
    answer = httpx.post(fake_llm_server.url("/v1/messages/count_tokens"), json=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"] == {"type": "invalid_request_error", "message": "max_tokens: Extra inputs are not permitted"}
    del body["max_tokens"]
    answer = httpx.post(fake_llm_server.url("/v1/messages/count_tokens"), json=body, headers=headers)
    assert answer.status_code == 200 and set(answer.json()) == {"input_tokens"}


def test_backends_without_a_count_endpoint(fake_settings: Any) -> None:
    with pytest.raises(InvalidRequestError, match="no token count endpoint"):
        count_tokens_remote(MESSAGES, "openai", "gpt-4o")
    with pytest.raises(InvalidRequestError, match="unknown backend"):
        count_tokens_remote(MESSAGES, "nope", "x")
