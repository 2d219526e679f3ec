"""Exact prompt counts from the provider's own count endpoint, for models with no local tokenizer.

* Anthropic Messages API: ``POST /v1/messages/count_tokens`` → ``input_tokens``.
* Gemini API: ``POST /models/{model}:countTokens`` with ``generateContentRequest`` → ``totalTokens``.
* Gemini on Vertex AI: ``POST …/publishers/google/models/{model}:countTokens`` → ``totalTokens``.

The request is the one a chat call would send (same messages conversion, tools, credentials and
endpoint settings), minus generation options. Other backends and deployments have no such
endpoint: :class:`~vv_llm.errors.InvalidRequestError` (count them with
``get_message_token_counts``). Provider failures raise the usual typed errors; nothing is retried.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.adapters.base import HttpRequest
from vv_llm.chat_clients.effects import Blocking, Send
from vv_llm.errors import InvalidRequestError, ProviderError, ResponseParseError
from vv_llm.types.enums import BackendType

if TYPE_CHECKING:
    from vv_llm.chat_clients.adapters.base import Adapter, HttpResponse
    from vv_llm.chat_clients.engine import CallEngine, PreparedCall

_ANTHROPIC_KEEP = ("model", "messages", "system", "tools", "tool_choice", "thinking")
_GEMINI_KEEP = ("contents", "systemInstruction", "tools", "toolConfig")


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
    if kind not in (BackendType.Anthropic, BackendType.Gemini):
        raise InvalidRequestError(f"backend {kind.value!r} has no token count endpoint; use get_message_token_counts")
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
        request = count_request(adapter, adapter.build_request(call.params))
        timeouts = call.timeouts or engine._endpoint_timeouts(endpoint)
        response: HttpResponse = yield Send(request, timeouts, endpoint.endpoint.proxy)
        if response.status >= 400:
            raise adapter.error_from_response(response)
        return _parse(adapter, response)
    except ProviderError as error:
        engine._annotate(error, adapter, endpoint)
        raise


def count_request(adapter: Adapter, chat: HttpRequest) -> HttpRequest:
    """The count-tokens request matching the chat request ``chat`` built by ``adapter``."""
    body = json.loads(chat.body or b"{}")
    name = type(adapter).__name__
    url, _, query = chat.url.partition("?")
    if name == "AnthropicAdapter" and url.endswith("/messages"):
        url, body = url + "/count_tokens", {k: v for k, v in body.items() if k in _ANTHROPIC_KEEP}
    elif name in ("GeminiAdapter", "VertexGeminiAdapter") and url.endswith(":generateContent"):
        url = url.removesuffix(":generateContent") + ":countTokens"
        kept = {k: v for k, v in body.items() if k in _GEMINI_KEEP}
        if name == "GeminiAdapter":
            model = url.rsplit("/models/", 1)[1].removesuffix(":countTokens")
            kept = {"generateContentRequest": {"model": f"models/{model}", **kept}}
        body = kept
    else:
        raise InvalidRequestError(f"endpoint {adapter.endpoint.id!r} ({adapter.provider}) has no token count endpoint vv-llm can use")
    headers = {k: v for k, v in chat.headers.items() if k.lower() != "accept"}
    headers["accept"] = "application/json"
    return HttpRequest("POST", url + (f"?{query}" if query else ""), headers, json.dumps(body, ensure_ascii=False).encode())


def _parse(adapter: Adapter, response: HttpResponse) -> int:
    try:
        data = json.loads(response.body)
    except ValueError:
        data = None
    field = "input_tokens" if type(adapter).__name__ == "AnthropicAdapter" else "totalTokens"
    value = data.get(field) if isinstance(data, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ResponseParseError(f"the token count response has no {field}: {response.body[:200]!r}", provider=adapter.provider)
    return value
