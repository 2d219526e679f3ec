"""``count_tokens_remote``: the provider's own count endpoint, over real sockets to the fake server.

The fake count endpoints below answer with vv-llm's estimate computed from the body they received
(in the provider's own shape), so an exact match also proves the messages, system prompt and tools
arrived as the provider expects them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_tokens_helpers import png_data_url

from vv_llm.errors import AuthenticationError, InvalidRequestError, RateLimitError
from vv_llm.testing.protocol import RecordedRequest, Rendered, WireProtocol, protocols
from vv_llm.testing.script import Reply, RequestInfo
from vv_llm.testing.settings import FAKE_KEY
from vv_llm.utilities.tokens import acount_tokens_remote, count_tokens_remote, get_message_token_counts

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


class CountTokensWire(WireProtocol):
    """Anthropic's ``/v1/messages/count_tokens`` and Google's ``:countTokens``."""

    name = "count-tokens"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and (path.endswith("/v1/messages/count_tokens") or path.endswith(":countTokens"))

    def _delegate(self, request: RecordedRequest) -> WireProtocol:
        wanted = "anthropic" if request.path.endswith("count_tokens") else "gemini"
        return next(p for p in protocols() if p.name == wanted)

    def check_auth(self, request: RecordedRequest, keys: set[str]) -> bool:
        return self._delegate(request).check_auth(request, keys)

    def parse(self, request: RecordedRequest) -> RequestInfo:
        return RequestInfo(protocol=self.name, model="", stream=False, messages_text="", last_user_text="", tools=[], body=request.json)

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        body = info.body
        if request.path.endswith("count_tokens"):
            count = get_message_token_counts(body, body.get("tools"), body["model"], "anthropic")
            return Rendered(200, {"content-type": "application/json"}, f'{{"input_tokens": {count}}}'.encode())
        return Rendered(200, {"content-type": "application/json"}, b'{"totalTokens": 4242, "promptTokensDetails": []}')

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        return self._delegate(request).render_error(status, message, error_type, request, headers)


@pytest.fixture
def count_wire(fake_settings: Any) -> Iterator[None]:
    registry = protocols()
    wire = CountTokensWire()
    registry.insert(0, wire)
    yield
    registry.remove(wire)


def test_anthropic_count_endpoint(count_wire: None, fake_llm_server: Any) -> None:
    count = count_tokens_remote(MESSAGES, "anthropic", "claude-sonnet-4-5", [WEATHER_TOOL])
    assert count == get_message_token_counts(MESSAGES, [WEATHER_TOOL], "claude-sonnet-4-5")
    request = fake_llm_server.requests[-1]
    assert request.path == "/v1/messages/count_tokens"
    assert request.headers["x-api-key"] and request.headers["anthropic-version"]
    body = request.json
    assert set(body) == {"model", "messages", "system", "tools"}  # no max_tokens, stream or sampling options
    assert body["messages"][0]["content"][1]["type"] == "image"


async def test_async_and_gemini(count_wire: None, fake_llm_server: Any) -> None:
    assert await acount_tokens_remote(MESSAGES, "gemini", "gemini-2.5-flash", [WEATHER_TOOL]) == 4242
    request = fake_llm_server.requests[-1]
    assert request.path == "/v1beta/models/gemini-2.5-flash:countTokens"
    inner = request.json["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.5-flash"
    assert set(inner) == {"model", "contents", "systemInstruction", "tools"}


def test_provider_errors_are_typed_and_keys_stay_out(count_wire: None, fake_llm_server: Any) -> None:
    fake_llm_server.enqueue(Reply.error(401, f"invalid x-api-key {FAKE_KEY}"))  # some providers echo the key
    with pytest.raises(AuthenticationError) as caught:
        count_tokens_remote(MESSAGES, "anthropic", "claude-sonnet-4-5")
    assert caught.value.endpoint_id == "fake-anthropic"
    assert FAKE_KEY not in str(caught.value) and FAKE_KEY not in repr(caught.value.body)
    fake_llm_server.enqueue(Reply.rate_limited(retry_after=3))
    with pytest.raises(RateLimitError):
        count_tokens_remote(MESSAGES, "gemini", "gemini-2.5-flash")


def test_backends_without_a_count_endpoint(fake_settings: Any) -> None:
    with pytest.raises(InvalidRequestError, match="no token count endpoint"):
        count_tokens_remote(MESSAGES, "openai", "gpt-4o")
    with pytest.raises(InvalidRequestError, match="unknown backend"):
        count_tokens_remote(MESSAGES, "nope", "x")
