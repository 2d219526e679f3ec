"""Gemini API native REST: ``POST {api_base}/models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse``, authenticated with ``x-goog-api-key``.

Conversions live in ``gemini_messages``. Decisions worth knowing:

* A prompt Google blocks (``promptFeedback.blockReason``, no candidates) raises
  :class:`~vv_llm.errors.ContentFilteredError` — nothing was generated. An answer stopped by a
  safety/recitation/blocklist/SPII filter is returned with ``finish_reason="content_filter"``.
* ``prompt_cache`` needs nothing here: Gemini caches prompt prefixes implicitly and reports
  them as ``cachedContentTokenCount`` (→ ``Usage.cached_tokens``).
* Token counts: ``POST …/models/{model}:countTokens`` with ``generateContentRequest``.
* Errors: Google's ``{"error": {"code", "message", "status", "details"}}``; a bad API key (HTTP
  400 ``API_KEY_INVALID``) is an :class:`~vv_llm.errors.AuthenticationError`, ``RetryInfo`` sets
  ``retry_after``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.adapters.base import Adapter, CallParams, HttpRequest, HttpResponse, OptionFate, StreamDecoder, dumps
from vv_llm.chat_clients.adapters.gemini_messages import (
    finish_reason,
    function_call,
    merge_streamed_parts,
    message_from_gemini,
    needs_keeping,
    prompt_block_reason,
    response_format_config,
    takes_json_schema,
    thinking_config,
    to_gemini_contents,
    to_gemini_tool_config,
    to_gemini_tools,
    usage_from_gemini,
)
from vv_llm.chat_clients.adapters.gemini_partial_args import PartialCall, is_partial
from vv_llm.chat_clients.adapters.sse import SSEStreamDecoder
from vv_llm.errors import (
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    ContextLengthExceededError,
    ProviderError,
    RateLimitError,
    ServerError,
    SettingsError,
    status_error_class,
)
from vv_llm.types.messages import ChatCompletionDeltaMessage, ChatCompletionMessage, FunctionCallDelta, ToolCallDelta

if TYPE_CHECKING:
    from vv_llm.settings.store import ResolvedEndpoint
    from vv_llm.types.enums import BackendType

DEFAULT_API_BASE = "https://generativelanguage.googleapis.com/v1beta"

# Google's canonical error codes, which say more than the HTTP status (and are all an in-stream error has).
ERROR_CLASSES: dict[str, type[ProviderError]] = {
    "INVALID_ARGUMENT": BadRequestError,
    "FAILED_PRECONDITION": BadRequestError,
    "OUT_OF_RANGE": BadRequestError,
    "NOT_FOUND": BadRequestError,
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": AuthenticationError,
    "RESOURCE_EXHAUSTED": RateLimitError,
    "UNAVAILABLE": ServerError,
    "INTERNAL": ServerError,
    "DEADLINE_EXCEEDED": ServerError,
    "UNKNOWN": ServerError,
}
_AUTH_REASONS = {
    "API_KEY_INVALID",
    "API_KEY_SERVICE_BLOCKED",
    "CREDENTIALS_MISSING",
    "ACCESS_TOKEN_EXPIRED",
    "ACCESS_TOKEN_TYPE_UNSUPPORTED",
}
# OpenAI-style extra arguments that are generationConfig fields in Gemini.
_GENERATION_ALIASES = {
    "seed": "seed",
    "top_k": "topK",
    "topK": "topK",
    "frequency_penalty": "frequencyPenalty",
    "presence_penalty": "presencePenalty",
    "n": "candidateCount",
    "candidate_count": "candidateCount",
    "logprobs": "responseLogprobs",
    "top_logprobs": "logprobs",
    "response_modalities": "responseModalities",
    "responseModalities": "responseModalities",
    "media_resolution": "mediaResolution",
    "mediaResolution": "mediaResolution",
}
_DROPPED = ("parallel_tool_calls", "user", "store", "metadata")


class GeminiAdapter(Adapter):
    """Speaks the Gemini API (``generativelanguage.googleapis.com``) with an API key."""

    provider = "gemini"
    option_fields = {
        "temperature": "generationConfig.temperature",
        "top_p": "generationConfig.topP",
        "max_tokens": "generationConfig.maxOutputTokens",
        "stop": "generationConfig.stopSequences",
        "tools": "tools.functionDeclarations",
        "tool_choice": "toolConfig.functionCallingConfig",
        "thinking": "generationConfig.thinkingConfig",
        "reasoning_effort": "generationConfig.thinkingConfig",
        "prompt_cache": "implicit caching (nothing to send)",
    }
    structured_formats = frozenset({"json_schema", "json_object"})
    structured_target = "generationConfig.responseJsonSchema"
    json_mode_target = "generationConfig.responseMimeType application/json"

    def structured_field(self, call: CallParams) -> str:
        return self.structured_target if takes_json_schema(call.model_id) else "generationConfig.responseSchema"

    def extra_fate(self, key: str, call: CallParams) -> OptionFate:
        if key in _GENERATION_ALIASES:
            return ("sent", None) if _GENERATION_ALIASES[key] == key else ("mapped", f"generationConfig.{_GENERATION_ALIASES[key]}")
        if key == "generation_config":
            return "mapped", "generationConfig"
        if key in _DROPPED:
            return "dropped", f"Gemini has no {key} parameter"
        return "sent", None

    def __init__(self, backend: BackendType, endpoint: ResolvedEndpoint):
        super().__init__(backend, endpoint)
        self._headers = {"content-type": "application/json", **self.static_auth_headers()}
        self._headers.update(endpoint.endpoint.headers)

    # -- per-deployment hooks (Vertex overrides these) -----------------------------------
    def static_auth_headers(self) -> dict[str, str]:
        setting = self.endpoint.endpoint
        key = setting.secret_key()
        if key:
            return {"x-goog-api-key": key}
        if any(name.lower() in ("x-goog-api-key", "authorization") for name in setting.headers):
            return {}
        raise SettingsError([(f"endpoints[{setting.id}].api_key", f"endpoint {setting.id!r} needs a Gemini API key")])

    def dynamic_auth_headers(self) -> dict[str, str]:
        """Headers that change between calls (a refreshed bearer token)."""
        return {}

    def models_url(self) -> str:
        return self.endpoint.api_base or DEFAULT_API_BASE

    def url(self, call: CallParams) -> str:
        model = call.model_id.removeprefix("models/")
        if call.stream:
            return f"{self.models_url()}/models/{model}:streamGenerateContent?alt=sse"
        return f"{self.models_url()}/models/{model}:generateContent"

    # -- request -------------------------------------------------------------------------
    def request_body(self, call: CallParams) -> dict[str, Any]:
        """The generateContent body for ``call``."""
        system, contents = to_gemini_contents(call.messages)
        body: dict[str, Any] = {"contents": contents}
        if system:
            body["systemInstruction"] = system
        if call.tools:
            tools = to_gemini_tools(call.tools)
            if tools:
                body["tools"] = tools
            config = to_gemini_tool_config(call.tool_choice)
            if config:
                body["toolConfig"] = config
        generation: dict[str, Any] = {}
        if call.temperature is not None:
            generation["temperature"] = call.temperature
        if call.top_p is not None:
            generation["topP"] = call.top_p
        if call.max_tokens is not None:
            generation["maxOutputTokens"] = call.max_tokens
        if call.stop:
            generation["stopSequences"] = [call.stop] if isinstance(call.stop, str) else list(call.stop)
        generation.update(response_format_config(call.response_format, call.model_id))
        thinking = thinking_config(call.thinking, call.reasoning_effort, call.model_id.removeprefix("models/"))
        if thinking is not None:
            generation["thinkingConfig"] = thinking
        for key, value in (call.extra_body or {}).items():
            if key in _GENERATION_ALIASES:
                generation[_GENERATION_ALIASES[key]] = value
            elif key in ("generationConfig", "generation_config") and isinstance(value, dict):
                generation.update(value)
            elif key not in _DROPPED:
                body[key] = value
        if generation:
            body["generationConfig"] = generation
        return body

    def build_request(self, call: CallParams) -> HttpRequest:
        headers = {**self._headers, **self.dynamic_auth_headers()}
        if call.extra_headers:
            headers.update(call.extra_headers)
        if call.stream:
            headers["accept"] = "text/event-stream"
        return HttpRequest("POST", self.url(call), headers, dumps(self.request_body(call)))

    # -- token count ---------------------------------------------------------------------
    count_field = "totalTokens"

    def count_body(self, call: CallParams) -> dict[str, Any]:
        """``countTokens`` takes the whole generateContent request, model included."""
        body = self.request_body(call)
        kept = {name: body[name] for name in ("contents", "systemInstruction", "tools", "toolConfig") if name in body}
        return {"generateContentRequest": {"model": "models/" + call.model_id.removeprefix("models/"), **kept}}

    def count_request(self, call: CallParams) -> HttpRequest:
        chat = self.build_request(call)
        url = chat.url.removesuffix(":generateContent") + ":countTokens"
        return HttpRequest("POST", url, {**chat.headers, "accept": "application/json"}, dumps(self.count_body(call)))

    # -- response ------------------------------------------------------------------------
    def message_from(self, data: dict[str, Any], response: HttpResponse) -> ChatCompletionMessage:
        if data.get("error"):
            raise self.stream_error(data)
        self.check_prompt_block(data)
        if not data.get("candidates"):
            raise self.parse_error(f"response has no candidates: {response.body[:200]!r}")
        return message_from_gemini(data, self.endpoint.id)

    def check_prompt_block(self, data: dict[str, Any]) -> None:
        reason = prompt_block_reason(data)
        if reason:
            raise ContentFilteredError(
                f"{self.provider} blocked the prompt (blockReason {reason})",
                provider=self.provider,
                endpoint_id=self.endpoint.id,
                status=200,
                body=data,
            )

    def stream_decoder(self) -> StreamDecoder:
        return GeminiStreamDecoder(self)

    # -- errors --------------------------------------------------------------------------
    def error_message(self, body: Any) -> tuple[str | None, str | None]:
        if isinstance(body, list) and body and isinstance(body[0], dict):  # JSON-array framing of some proxies
            body = body[0]
        return super().error_message(body)

    def error_from_response(self, response: HttpResponse) -> ProviderError:
        error = super().error_from_response(response)
        body = error.body[0] if isinstance(error.body, list) and error.body else error.body
        detail = body.get("error") if isinstance(body, dict) else None
        if not isinstance(detail, dict):
            return error
        cls: type[ProviderError] = type(error)
        status = str(detail.get("status") or "")
        reasons = {d.get("reason") for d in detail.get("details") or () if isinstance(d, dict)}
        message = str(detail.get("message") or "").lower()
        if reasons & _AUTH_REASONS:
            cls = AuthenticationError
        elif "exceeds the maximum number of tokens" in message or ("input token count" in message and "exceeds" in message):
            cls = ContextLengthExceededError
        elif status in ERROR_CLASSES and cls is status_error_class(response.status) and not issubclass(cls, ERROR_CLASSES[status]):
            cls = ERROR_CLASSES[status]
        retry_after = error.retry_after
        for item in detail.get("details") or ():
            if isinstance(item, dict) and item.get("retryDelay"):
                retry_after = _seconds(item["retryDelay"]) if retry_after is None else retry_after
        if cls is type(error) and retry_after == error.retry_after:
            return error
        return error.retyped(cls, retry_after=retry_after)

    def stream_error(self, payload: Any) -> ProviderError:
        detail = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(detail, dict):
            return super().stream_error(payload)
        status = str(detail.get("status") or "")
        code = detail.get("code")
        cls = ERROR_CLASSES.get(status) or (status_error_class(code) if isinstance(code, int) and code >= 400 else ProviderError)
        return cls(
            f"{self.provider} error: {detail.get('message') or status or 'no message'}",
            provider=self.provider,
            endpoint_id=self.endpoint.id,
            status=code if isinstance(code, int) else None,
            body=payload,
        )


def _seconds(delay: Any) -> float | None:
    match = re.fullmatch(r"\s*([0-9.]+)s\s*", str(delay))
    return float(match.group(1)) if match else None


class GeminiStreamDecoder(SSEStreamDecoder):
    """``data: {GenerateContentResponse}`` events; the one with ``finishReason`` ends the answer."""

    _adapter: GeminiAdapter
    __slots__ = ("_calls", "_partial", "_parts", "_started")

    def __init__(self, adapter: GeminiAdapter):
        super().__init__(adapter)
        self._parts: list[dict[str, Any]] = []
        self._calls = 0
        self._started = False
        self._partial: PartialCall | None = None
        """A function call whose arguments are still streaming in (``partialArgs``)."""

    def _decode(self, events: list[tuple[str | None, str]]) -> list[ChatCompletionDeltaMessage]:
        deltas = []
        construct = ChatCompletionDeltaMessage.model_construct
        adapter = self._adapter
        for _event, data in events:
            chunk = self._payload(data)
            chunks = chunk if isinstance(chunk, list) else [chunk]  # JSON-array framing: one response per element
            for item in chunks:
                if not isinstance(item, dict):
                    raise adapter.parse_error(f"unexpected stream data: {data[:200]!r}")
                if item.get("error"):
                    raise adapter.stream_error(item)
                adapter.check_prompt_block(item)
                deltas.append(self._delta(item, construct))
        return deltas

    def _tool_call(self, part: dict[str, Any], chunk: dict[str, Any]) -> ToolCallDelta:
        call = function_call(part, chunk.get("responseId"), self._calls)
        delta = ToolCallDelta.model_construct(
            index=self._calls,
            id=call.id,
            type="function",
            function=FunctionCallDelta.model_construct(name=call.function.name, arguments=call.function.arguments),
        )
        self._calls += 1
        return delta

    def _delta(self, chunk: dict[str, Any], construct: Any) -> ChatCompletionDeltaMessage:
        candidate = (chunk.get("candidates") or [{}])[0]
        parts = [p for p in (candidate.get("content") or {}).get("parts") or () if isinstance(p, dict)]
        texts: list[str] = []
        thoughts: list[str] = []
        tool_calls: list[ToolCallDelta] = []
        reason = candidate.get("finishReason")
        for part in parts:
            call = part.get("functionCall")
            if isinstance(call, dict):
                if self._partial is None and is_partial(call):
                    if not call:
                        continue  # the end marker of a call already complete
                    self._partial = PartialCall({}, part)
                if self._partial is not None:
                    if not self._partial.add(call, part):
                        continue
                    part = self._partial.part()
                    self._partial = None
                self._parts.append(part)
                tool_calls.append(self._tool_call(part, chunk))
            else:
                self._parts.append(part)
                if isinstance(part.get("text"), str) and part["text"]:
                    (thoughts if part.get("thought") else texts).append(part["text"])
        if reason is not None and self._partial is not None:  # the answer ended inside a call: keep what came
            part = self._partial.part()
            self._partial = None
            self._parts.append(part)
            tool_calls.append(self._tool_call(part, chunk))
        usage = chunk.get("usageMetadata")
        final = reason is not None
        provider_content = None
        if final:
            self.done = True
            kept = merge_streamed_parts(self._parts)
            if needs_keeping(kept):
                provider_content = kept
        role = None if self._started else "assistant"
        self._started = True
        return construct(
            role=role,
            content="".join(texts) or None,
            reasoning_content="".join(thoughts) or None,
            tool_calls=tool_calls or None,
            finish_reason=finish_reason(reason, self._calls > 0) if final else None,
            usage=usage_from_gemini(usage) if usage and (final or "candidatesTokenCount" in usage) else None,
            provider_content=provider_content,
            raw_response=chunk,
        )
