"""Exact prompt counts from the provider's own count endpoint, for models with no local tokenizer.

* Anthropic Messages API: ``POST /v1/messages/count_tokens`` → ``input_tokens``.
* Claude on Vertex AI: ``POST …/publishers/anthropic/models/count-tokens:rawPredict`` → ``input_tokens``.
* Gemini API: ``POST /models/{model}:countTokens`` with ``generateContentRequest`` → ``totalTokens``.
* Gemini on Vertex AI: ``POST …/publishers/google/models/{model}:countTokens`` → ``totalTokens``.
* AWS Bedrock: ``POST /model/{modelId}/count-tokens`` (Converse input) → ``inputTokens``.

The request is the one a chat call would send (same messages conversion, tools, credentials and
endpoint settings), minus generation options; each adapter builds its own (``count_request``) and
the engine sends it (``CallEngine.count_plan``, behind ``client.count_tokens``). Other backends and
deployments have no such endpoint: :class:`~vv_llm.errors.InvalidRequestError` (count them with
``get_message_token_counts``). Provider failures raise the usual typed errors; nothing is retried.
"""

from __future__ import annotations

from typing import Any

from vv_llm.chat_clients.base_client import AsyncChatClient, ChatClient
from vv_llm.errors import InvalidRequestError
from vv_llm.types.enums import BackendType


def count_tokens_remote(
    messages: Any, backend: BackendType | str, model: str | None = None, tools: Any = None, *, endpoint_id: str | None = None
) -> int:
    """Prompt tokens of ``messages`` (+ ``tools``) as the provider counts them, over the network
    (``create_chat_client(backend).count_tokens(messages, model, tools)`` in one call)."""
    return ChatClient(_backend(backend), model, endpoint_id=endpoint_id).count_tokens(messages, tools=tools)


async def acount_tokens_remote(
    messages: Any, backend: BackendType | str, model: str | None = None, tools: Any = None, *, endpoint_id: str | None = None
) -> int:
    """:func:`count_tokens_remote` for asyncio."""
    return await AsyncChatClient(_backend(backend), model, endpoint_id=endpoint_id).count_tokens(messages, tools=tools)


def _backend(backend: BackendType | str) -> BackendType:
    try:
        return BackendType.parse(backend)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
