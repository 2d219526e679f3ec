"""Token counts over every protocol family: the prompt usage the fake reports is vv-llm's own count, and
``count_tokens_remote`` asks each protocol's count endpoint with its credentials and agrees with it."""

from __future__ import annotations

import asyncio

import pytest

from vv_llm.chat_clients import BackendType
from vv_llm.errors import InvalidRequestError
from vv_llm.testing import Reply
from vv_llm.utilities.tokens import acount_tokens_remote, count_tokens_remote, get_message_token_counts

from ..cross_protocol import PNG_URL, WEATHER, ask, model_requests


@pytest.mark.parametrize("mode", ["sync", "stream"])
def test_reported_prompt_tokens_are_our_own_count(protocol, fake_llm_server, mode):
    """The fake bills the prompt with vv-llm's tokenizers and overhead rules, so the estimate a
    caller (or the playground) makes before the call is the usage reported after it."""
    messages = [
        {"role": "system", "content": "You are a concise weather assistant. 回答要简短。"},
        {"role": "user", "content": "What's the weather like in Paris today? 🌤"},
    ]
    fake_llm_server.enqueue(Reply(content="Let me check."))
    reply, _ = ask(protocol, mode, messages, tools=[WEATHER])
    (request,) = model_requests(fake_llm_server, protocol)
    backend = None if protocol.backend is BackendType.OpenAI else protocol.backend
    model = request.json.get("model") or protocol.model
    assert reply.usage.prompt_tokens == get_message_token_counts(messages, [WEATHER], model, backend)


COUNT_PATHS = {
    "anthropic": "/v1/messages/count_tokens",
    "gemini": "/v1beta/models/gemini-2.5-flash:countTokens",
    "vertex-anthropic": "/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict",
    "vertex-gemini": "/locations/us-central1/publishers/google/models/gemini-2.5-pro:countTokens",
    "bedrock": "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens",  # the foundation model, not the us. profile
}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_the_provider_count_endpoint_agrees_with_the_billed_prompt(protocol, fake_llm_server, use_async):
    """``count_tokens_remote`` asks the provider's own count endpoint (each protocol's, with its
    credentials); the fake answers it as it bills the same prompt, and refuses what the real
    endpoint refuses (generation options in the body, a Bedrock inference-profile id)."""
    messages = [
        {"role": "system", "content": "You are a concise weather assistant."},
        {"role": "user", "content": [{"type": "text", "text": "What's this?"}, {"type": "image_url", "image_url": {"url": PNG_URL}}]},
    ]
    if protocol.backend is BackendType.OpenAI:
        with pytest.raises(InvalidRequestError, match="no token count endpoint; use get_message_token_counts"):
            count_tokens_remote(messages, protocol.backend, protocol.model)
        return
    if use_async:
        count = asyncio.run(acount_tokens_remote(messages, protocol.backend, protocol.model, [WEATHER]))
    else:
        count = count_tokens_remote(messages, protocol.backend, protocol.model, [WEATHER])
    (counted,) = [r for r in fake_llm_server.requests if r.protocol == f"{protocol.wire}-count"]
    assert protocol.authenticated(counted) and counted.path.endswith(COUNT_PATHS[protocol.wire])
    fake_llm_server.enqueue(Reply(content="A pixel."))
    reply, _ = ask(protocol, "sync", messages, tools=[WEATHER])
    assert count == reply.usage.prompt_tokens > 0
