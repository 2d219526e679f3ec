"""Anthropic Messages API (``POST {api_base}/v1/messages``), JSON and SSE, over the engine's httpx.

Conversion of messages and responses lives in ``anthropic_messages``; this module builds the
request (headers, ``max_tokens`` default, thinking, prompt caching) and decodes the event stream.
With thinking enabled, ``temperature`` is not sent (Anthropic only accepts 1 then).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.adapters.anthropic_messages import (
    CLAUDE_OPTIONS,
    apply_prompt_cache,
    claude_option_fate,
    claude_thinking,
    finish_reason,
    message_from_anthropic,
    native_output_format,
    thinking_on,
    to_anthropic_messages,
    to_anthropic_tool_choice,
    to_anthropic_tools,
    usage_from_anthropic,
)
from vv_llm.chat_clients.adapters.base import SHAPE_ERRORS, Adapter, CallParams, HttpRequest, HttpResponse, OptionFate, StreamDecoder, dumps
from vv_llm.chat_clients.adapters.sse import SSEEventDecoder
from vv_llm.errors import (
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    ContextLengthExceededError,
    ProviderError,
    RateLimitError,
    ServerError,
    SettingsError,
)
from vv_llm.types.messages import (
    ChatCompletionDeltaMessage,
    ChatCompletionMessage,
    FunctionCallDelta,
    ToolCallDelta,
    stream_delta,
)

if TYPE_CHECKING:
    from vv_llm.settings.store import ResolvedEndpoint
    from vv_llm.types.enums import BackendType

API_VERSION = "2023-06-01"
COUNTED_FIELDS = ("anthropic_version", "model", "messages", "system", "tools", "tool_choice", "thinking")
"""What ``count_tokens`` accepts of a Messages body (it refuses max_tokens, stream and sampling options)."""

# Anthropic's error types, which say more than the HTTP status (and are all an in-stream error has).
ERROR_CLASSES: dict[str, type[ProviderError]] = {
    "overloaded_error": ServerError,
    "api_error": ServerError,
    "timeout_error": ServerError,
    "rate_limit_error": RateLimitError,
    "authentication_error": AuthenticationError,
    "permission_error": AuthenticationError,
    "invalid_request_error": BadRequestError,
    "not_found_error": BadRequestError,
    "request_too_large": BadRequestError,
}


def retype(error: ProviderError, kind: str | None) -> ProviderError:
    """``error`` as the class Anthropic's error ``kind`` calls for (context-length and content
    filter refinements of a bad request are kept)."""
    cls = ERROR_CLASSES.get(kind or "")
    if (
        cls is None
        or isinstance(error, cls)
        or (cls is BadRequestError and isinstance(error, ContextLengthExceededError | ContentFilteredError))
    ):
        return error
    return error.retyped(cls)


class AnthropicAdapter(Adapter):
    """Speaks the Anthropic Messages API with an ``x-api-key``."""

    provider = "anthropic"
    option_fields = CLAUDE_OPTIONS
    structured_formats = frozenset({"json_schema"})
    structured_target = "output_config.format"

    def __init__(self, backend: BackendType, endpoint: ResolvedEndpoint):
        super().__init__(backend, endpoint)
        self._headers = {"content-type": "application/json", "accept": "application/json", **self.auth_headers()}
        self._headers.update(endpoint.endpoint.headers)

    # -- per-deployment hooks (Vertex overrides these) -----------------------------------
    def auth_headers(self) -> dict[str, str]:
        setting = self.endpoint.endpoint
        key = setting.secret_key()
        if not key:
            if any(name.lower() in ("x-api-key", "authorization") for name in setting.headers):
                return {"anthropic-version": API_VERSION}
            raise SettingsError([(f"endpoints[{setting.id}].api_key", f"endpoint {setting.id!r} needs an Anthropic API key")])
        return {"x-api-key": key, "anthropic-version": API_VERSION}

    def url(self, call: CallParams) -> str:
        base = self.endpoint.api_base or "https://api.anthropic.com"
        return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"

    # -- request -------------------------------------------------------------------------
    def request_body(self, call: CallParams) -> dict[str, Any]:
        """The Messages API body for ``call``."""
        system, messages = to_anthropic_messages(call.messages)
        extra = dict(call.extra_body) if call.extra_body else {}
        parallel = extra.pop("parallel_tool_calls", None)
        tools = to_anthropic_tools(call.tools) if call.tools else None
        max_tokens, thinking, output_config = claude_thinking(call)
        output_format = native_output_format(call.response_format)
        if output_format is not None:
            output_config = {**(output_config or {}), "format": output_format}
        if call.prompt_cache:
            system, tools, messages = apply_prompt_cache(system, tools, messages)
        body: dict[str, Any] = {"model": call.model_id, "max_tokens": max_tokens, "messages": messages}
        if system:
            body["system"] = system
        if tools:
            body["tools"] = tools
            choice = to_anthropic_tool_choice(call.tool_choice, parallel)
            if choice is not None:
                body["tool_choice"] = choice
        if thinking is not None:
            body["thinking"] = thinking
        if output_config is not None:
            body["output_config"] = output_config
        thinking_on = thinking is not None and thinking.get("type") != "disabled"
        if call.temperature is not None and not thinking_on:
            body["temperature"] = call.temperature
        if call.top_p is not None:
            body["top_p"] = call.top_p
        if call.stop:
            body["stop_sequences"] = [call.stop] if isinstance(call.stop, str) else list(call.stop)
        if call.stream:
            body["stream"] = True
        if extra:
            body.update(extra)
        return body

    def option_fate(self, name: str, call: CallParams) -> OptionFate:
        return claude_option_fate(call, name) or super().option_fate(name, call)

    def extra_fate(self, key: str, call: CallParams) -> OptionFate:
        if key == "parallel_tool_calls":
            return ("mapped", "tool_choice.disable_parallel_tool_use") if call.tools else ("dropped", "no tools were given")
        return "sent", None

    def forced_tool_ok(self, call: CallParams) -> bool:
        return not thinking_on(call)

    def answer_room(self, call: CallParams) -> int | None:
        """Anthropic requires ``max_tokens``: the default sent (plus any thinking budget) counts
        against the window, and a prompt that leaves less is refused."""
        return claude_thinking(call)[0]

    def build_request(self, call: CallParams) -> HttpRequest:
        headers = self._headers
        if call.extra_headers or call.stream:
            headers = {**headers, **call.extra_headers}
            if call.stream:
                headers["accept"] = "text/event-stream"
        return HttpRequest("POST", self.url(call), headers, dumps(self.request_body(call)))

    # -- token count ---------------------------------------------------------------------
    count_field = "input_tokens"

    def count_url(self, call: CallParams) -> str:
        return self.url(call) + "/count_tokens"

    def count_body(self, call: CallParams) -> dict[str, Any]:
        body = self.request_body(call)
        return {name: body[name] for name in COUNTED_FIELDS if name in body}

    def count_request(self, call: CallParams) -> HttpRequest:
        chat = self.build_request(call)
        return HttpRequest("POST", self.count_url(call), {**chat.headers, "accept": "application/json"}, dumps(self.count_body(call)))

    # -- response ------------------------------------------------------------------------
    def message_from(self, data: dict[str, Any], response: HttpResponse) -> ChatCompletionMessage:
        if data.get("type") == "error":
            raise self.stream_error(data)
        if not isinstance(data.get("content"), list):
            raise self.parse_error(f"response has no content: {response.body[:200]!r}")
        return message_from_anthropic(data, self.endpoint.id)

    def stream_decoder(self) -> StreamDecoder:
        return AnthropicStreamDecoder(self)

    # -- errors --------------------------------------------------------------------------
    def error_from_response(self, response: HttpResponse) -> ProviderError:
        error = super().error_from_response(response)
        return retype(error, self.error_message(error.body)[1])

    def stream_error(self, payload: Any) -> ProviderError:
        message, kind = self.error_message(payload)
        cls = ERROR_CLASSES.get(kind or "", ProviderError)
        return cls(
            f"{self.provider} stream error: {message or payload!r}" + (f" ({kind})" if kind else ""),
            provider=self.provider,
            endpoint_id=self.endpoint.id,
            request_id=payload.get("request_id") if isinstance(payload, dict) else None,
            body=payload,
        )


class AnthropicStreamDecoder(SSEEventDecoder):
    """Messages API server-sent events → deltas.

    Tool-use blocks become tool-call fragments indexed 0, 1, ... in order; thinking blocks (with
    their signatures) are assembled and handed over as ``provider_content`` on the final delta,
    together with the finish reason and the usage of ``message_start`` and ``message_delta`` merged.
    """

    __slots__ = ("_blocks", "_provider", "_tools", "_usage")

    def __init__(self, adapter: AnthropicAdapter):
        super().__init__(adapter)
        self._blocks: dict[int, dict[str, Any]] = {}
        self._provider: list[dict[str, Any]] = []
        self._tools = 0
        self._usage: dict[str, Any] = {}

    def _event(self, event: str | None, data: str) -> ChatCompletionDeltaMessage | None:
        adapter = self._adapter
        try:
            payload = self._event_object(data)
            kind = payload.get("type") or event
            if kind == "content_block_delta":
                delta = payload.get("delta") or {}
                if delta.get("type") == "text_delta":  # most events
                    return self.acc.text(delta.get("text"), payload)
                return self._added(self._block_delta(payload, delta))
            return self._added(self._other_event(kind, payload))
        except SHAPE_ERRORS as exc:
            raise adapter.shape_error(exc) from None

    def _other_event(self, kind: str | None, payload: dict[str, Any]) -> ChatCompletionDeltaMessage | None:
        """The delta of an event other than a content block's delta."""
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "content_block_stop":
            return self._block_stop(payload)
        if kind == "message_start":
            message = payload.get("message") or {}
            self._merge_usage(message.get("usage"))
            return ChatCompletionDeltaMessage.model_construct(role="assistant", raw_response=message)
        if kind == "message_delta":
            self._merge_usage(payload.get("usage"))
            return ChatCompletionDeltaMessage.model_construct(
                finish_reason=finish_reason((payload.get("delta") or {}).get("stop_reason")),
                usage=usage_from_anthropic(self._usage),
                provider_content=list(self._provider) or None,
                raw_response=payload,
            )
        if kind == "message_stop":
            self.done = True
        elif kind == "error":
            raise self._adapter.stream_error(payload)
        return None  # ping and event types added later carry nothing for us

    def _merge_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            self._usage.update({k: v for k, v in usage.items() if v is not None})

    def _block_start(self, payload: dict[str, Any]) -> ChatCompletionDeltaMessage | None:
        block = payload.get("content_block") or {}
        kind = block.get("type")
        state: dict[str, Any] = {"type": kind}
        self._blocks[payload.get("index", len(self._blocks))] = state
        construct = ChatCompletionDeltaMessage.model_construct
        if kind == "text":
            return construct(content=block["text"], raw_response=payload) if block.get("text") else None
        if kind == "thinking":
            state["thinking"] = [block.get("thinking") or ""]
            state["signature"] = block.get("signature") or ""
            return construct(reasoning_content=block["thinking"], raw_response=payload) if block.get("thinking") else None
        if kind == "redacted_thinking":
            self._provider.append(dict(block))
            return None
        if kind == "tool_use":
            index = state["tool"] = self._tools
            self._tools += 1
            arguments = json.dumps(block["input"], ensure_ascii=False) if block.get("input") else ""
            state["has_arguments"] = bool(arguments)
            call = ToolCallDelta.model_construct(
                index=index,
                id=block.get("id"),
                type="function",
                function=FunctionCallDelta.model_construct(name=block.get("name"), arguments=arguments),
            )
            return construct(tool_calls=[call], raw_response=payload)
        return None

    def _block_delta(self, payload: dict[str, Any], delta: dict[str, Any]) -> ChatCompletionDeltaMessage | None:
        """A content block's delta other than text."""
        kind = delta.get("type")
        state = self._blocks.get(payload.get("index", -1))
        if kind == "thinking_delta":
            text = delta.get("thinking") or ""
            if state is not None and "thinking" in state:
                state["thinking"].append(text)
            return stream_delta(None, None, text, None, None, None, payload)
        if kind == "signature_delta":
            if state is not None and "signature" in state:
                state["signature"] += delta.get("signature") or ""
            return None
        if kind == "input_json_delta":
            partial = delta.get("partial_json")
            if not partial or state is None or "tool" not in state:
                return None
            state["has_arguments"] = True
            call = ToolCallDelta.model_construct(index=state["tool"], function=FunctionCallDelta.model_construct(arguments=partial))
            return ChatCompletionDeltaMessage.model_construct(tool_calls=[call], raw_response=payload)
        return None

    def _block_stop(self, payload: dict[str, Any]) -> ChatCompletionDeltaMessage | None:
        state = self._blocks.get(payload.get("index", -1))
        if state is None:
            return None
        if state["type"] == "thinking":
            self._provider.append({"type": "thinking", "thinking": "".join(state["thinking"]), "signature": state["signature"]})
        elif state["type"] == "tool_use" and not state["has_arguments"]:
            # A tool without arguments streams no JSON; say "{}" as the non-streamed reply does.
            call = ToolCallDelta.model_construct(index=state["tool"], function=FunctionCallDelta.model_construct(arguments="{}"))
            return ChatCompletionDeltaMessage.model_construct(tool_calls=[call], raw_response=payload)
        return None
