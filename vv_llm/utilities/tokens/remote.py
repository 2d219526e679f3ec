"""Exact prompt counts from the provider's own count endpoint, for models with no local tokenizer.

* Anthropic Messages API: ``POST /v1/messages/count_tokens`` → ``input_tokens``.
* Claude on Vertex AI: ``POST …/publishers/anthropic/models/count-tokens:rawPredict`` → ``input_tokens``.
* Gemini API: ``POST /models/{model}:countTokens`` with ``generateContentRequest`` → ``totalTokens``.
* Gemini on Vertex AI: ``POST …/publishers/google/models/{model}:countTokens`` → ``totalTokens``.
* AWS Bedrock: ``POST /model/{modelId}/count-tokens`` (Converse input) → ``inputTokens``.

The request is the one a chat call would send (same messages conversion, tools, credentials and
endpoint settings), minus generation options; each adapter builds its own (``count_request``).
Other backends and deployments have no such endpoint: :class:`~vv_llm.errors.InvalidRequestError`
(count them with ``get_message_token_counts``). Provider failures raise the usual typed errors;
nothing is retried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.effects import Blocking, Send
from vv_llm.errors import InvalidRequestError, ProviderError
from vv_llm.types.enums import BackendType

if TYPE_CHECKING:
    from vv_llm.chat_clients.adapters.base import HttpResponse
    from vv_llm.chat_clients.engine import CallEngine, PreparedCall


def count_tokens_remote(
    messages: Any, backend: BackendType | str, model: str | None = None, tools: Any = None, *, endpoint_id: str | None = None
) -> int:
    """Prompt tokens of ``messages`` (+ ``tools``) as the provider counts them, over the network."""
    from vv_llm.chat_clients.transport import run_sync, shared_sync_transport

    engine, call = _prepare(messages, backend, model, tools, endpoint_id)
    return int(run_sync(_plan(engine, call), shared_sync_transport()))


async def acount_tokens_remote(
    messages: Any, backend: BackendType | str, model: str | None = None, tools: Any = None, *, endpoint_id: str | None = None
) -> int:
    """:func:`count_tokens_remote` for asyncio."""
    from vv_llm.chat_clients.transport import run_async, shared_async_transport

    engine, call = _prepare(messages, backend, model, tools, endpoint_id)
    return int(await run_async(_plan(engine, call), shared_async_transport()))


def _prepare(
    messages: Any, backend: BackendType | str, model: str | None, tools: Any, endpoint_id: str | None
) -> tuple[CallEngine, PreparedCall]:
    from vv_llm.chat_clients.engine import CallEngine
    from vv_llm.settings import settings

    try:
        kind = BackendType.parse(backend)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    engine = CallEngine(kind, settings, endpoint_id)
    return engine, engine.prepare(messages, model, False, {"tools": tools, "skip_cutoff": True})


def _plan(engine: CallEngine, call: PreparedCall) -> Any:
    from vv_llm.utilities.endpoint_choice import choose_endpoint

    endpoint = choose_endpoint(call.resolved.endpoints, [])
    adapter = engine.adapter(endpoint)
    try:
        if adapter.refresh_due():
            yield Blocking(adapter.refresh)
        call.params.model_id = endpoint.model_id
        request = adapter.count_request(call.params)
        timeouts = call.timeouts or engine._endpoint_timeouts(endpoint)
        response: HttpResponse = yield Send(request, timeouts, endpoint.endpoint.proxy)
        if response.status >= 400:
            raise adapter.error_from_response(response)
        return adapter.parse_count(response)
    except ProviderError as error:
        engine._annotate(error, adapter, endpoint)
        raise
