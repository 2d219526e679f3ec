"""OpenAI Chat Completions protocol: OpenAI, Azure OpenAI and every compatible backend."""

from __future__ import annotations

from typing import Any

from vv_llm.chat_clients.adapters.base import SHAPE_ERRORS, Adapter, CallParams, HttpRequest, HttpResponse, OptionFate, StreamDecoder, dumps
from vv_llm.chat_clients.adapters.sse import SSEEventDecoder
from vv_llm.chat_clients.think_tags import ThinkTagSplitter, split_think
from vv_llm.types.enums import BackendType
from vv_llm.types.messages import (
    ChatCompletionDeltaMessage,
    ChatCompletionMessage,
    FunctionCall,
    FunctionCallDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    stream_delta,
)

AZURE_DEFAULT_API_VERSION = "2024-10-21"
AZURE_JSON_SCHEMA_API_VERSION = "2024-08-01"
"""The first Azure OpenAI API version with ``response_format`` json_schema (older ones: JSON mode only)."""

# Backends that accept ``stream_options: {"include_usage": true}``; the others report usage in
# their last chunk on their own (or not at all) and some reject unknown parameters.
_STREAM_USAGE_OPTION = {
    BackendType.OpenAI,
    BackendType.DeepSeek,
    BackendType.Qwen,
    BackendType.Groq,
    BackendType.XAI,
    BackendType.Local,
    BackendType.MiniMax,
    BackendType.Ernie,
    BackendType.StepFun,
}
# Backends whose models may inline reasoning as <think>…</think> at the start of content.
_THINK_TAGS = {BackendType.MiniMax, BackendType.Local, BackendType.Groq, BackendType.Qwen, BackendType.DeepSeek}
# Backends with a switch for reasoning (``thinking``), and where it goes.
_THINKING_FIELDS = {
    BackendType.Qwen: "enable_thinking",
    BackendType.ZhiPuAI: "thinking.type",
    BackendType.DeepSeek: "thinking.type",
    BackendType.Moonshot: "thinking.type",
}
# Backends that cache prompt prefixes by themselves (prompt_cache needs nothing sent).
_AUTOMATIC_CACHE = {BackendType.OpenAI, BackendType.DeepSeek, BackendType.XAI}
# Fields of our own message shape that providers must not receive.
_OUR_FIELDS = ("reasoning_content", "provider_content")


# Whether a backend's ``completion_tokens`` already counts ``completion_tokens_details.reasoning_tokens``,
# as its API documentation says. OpenAI (and Azure), DeepSeek, Groq, Qwen (DashScope), Moonshot,
# ZhiPu, MiniMax, Mistral, StepFun and Ernie count reasoning inside it and report
# total = prompt + completion; xAI counts it "separately from completion_tokens, but in total_tokens".
# Backends (and OpenAI-compatible servers) not listed are judged per answer by their total.
REASONING_IN_COMPLETION: dict[BackendType, bool] = {BackendType.XAI: False}


def usage_from_openai(data: dict[str, Any] | None, reasoning_in_completion: bool | None = None) -> Usage | None:
    """Normalise an OpenAI-style usage object (with DeepSeek's, xAI's and others' variants)."""
    if not data:
        return None
    prompt_details = data.get("prompt_tokens_details") or {}
    completion_details = data.get("completion_tokens_details") or {}
    total = data.get("total_tokens")
    return Usage.normalised(
        prompt=data.get("prompt_tokens") or 0,
        completion=data.get("completion_tokens") or 0,
        reasoning=completion_details.get("reasoning_tokens") or data.get("reasoning_tokens") or 0,
        reported_total=total if isinstance(total, int) else None,
        reasoning_in_completion=reasoning_in_completion,
        cached=prompt_details.get("cached_tokens") or data.get("prompt_cache_hit_tokens") or data.get("cached_tokens") or 0,
    )


def _outgoing_message(message: dict[str, Any]) -> dict[str, Any]:
    if any(key in message for key in _OUR_FIELDS):
        return {k: v for k, v in message.items() if k not in _OUR_FIELDS}
    return message


class OpenAICompatibleAdapter(Adapter):
    """Speaks ``POST {api_base}/chat/completions`` (Azure: ``/openai/deployments/{id}/chat/completions``)."""

    option_fields = {
        name: name for name in ("temperature", "top_p", "max_tokens", "stop", "tools", "tool_choice", "reasoning_effort", "response_format")
    }
    structured_formats = frozenset({"json_schema", "json_object"})

    def __init__(self, backend: BackendType, endpoint: Any):
        super().__init__(backend, endpoint)
        setting = endpoint.endpoint
        self.provider = "azure" if setting.is_azure else backend.value
        self.think_tags = backend in _THINK_TAGS
        key = setting.secret_key()
        headers = {"content-type": "application/json", "accept": "application/json"}
        if setting.is_azure:
            version = setting.api_version or AZURE_DEFAULT_API_VERSION
            if version < AZURE_JSON_SCHEMA_API_VERSION:  # ISO dates compare as strings
                self.structured_formats = frozenset({"json_object"})
            self._url_template = f"{endpoint.api_base}/openai/deployments/{{model}}/chat/completions?api-version={version}"
            if key:
                headers["api-key"] = key
        else:
            self._url_template = f"{endpoint.api_base}/chat/completions"
            if key:
                headers["authorization"] = f"Bearer {key}"
        headers.update(setting.headers)
        self._headers = headers
        self._max_tokens_field = "max_completion_tokens" if backend is BackendType.OpenAI else "max_tokens"
        self.reasoning_in_completion = None if setting.is_azure else REASONING_IN_COMPLETION.get(backend)

    def option_fate(self, name: str, call: CallParams) -> OptionFate:
        if name == "max_tokens" and self._max_tokens_field != "max_tokens":
            return "mapped", self._max_tokens_field
        if name == "thinking":
            field = _THINKING_FIELDS.get(self.backend)
            if field:
                return "mapped", field
            if (
                isinstance(call.thinking, dict)
                and "effort" in call.thinking
                and self.backend in (BackendType.OpenAI, BackendType.XAI, BackendType.Groq)
            ):
                return "mapped", "reasoning_effort"
            return (
                "dropped",
                f"{self.backend.value} has no reasoning switch (its reasoning models think by themselves; reasoning_effort sets how much)",
            )
        if name == "prompt_cache":
            if self.backend in _AUTOMATIC_CACHE:
                return "mapped", "automatic prompt caching (nothing to send)"
            return "dropped", f"{self.provider} has no opt-in prompt caching"
        return super().option_fate(name, call)

    # -- request -------------------------------------------------------------------------
    def request_body(self, call: CallParams) -> dict[str, Any]:
        body: dict[str, Any] = {"model": call.model_id, "messages": [_outgoing_message(m) for m in call.messages]}
        if call.stream:
            body["stream"] = True
            if self.backend in _STREAM_USAGE_OPTION or self.provider == "azure":
                body["stream_options"] = {"include_usage": True}
        if call.temperature is not None:
            body["temperature"] = call.temperature
        if call.top_p is not None:
            body["top_p"] = call.top_p
        if call.max_tokens is not None:
            body[self._max_tokens_field] = call.max_tokens
        if call.tools:
            body["tools"] = call.tools
            if call.tool_choice is not None:
                body["tool_choice"] = call.tool_choice
        if call.response_format is not None:
            body["response_format"] = call.response_format
        if call.stop is not None:
            body["stop"] = call.stop
        if call.reasoning_effort is not None:
            body["reasoning_effort"] = call.reasoning_effort
        if call.thinking is not None:
            self._thinking_option(body, call.thinking)
        if call.extra_body:
            body.update(call.extra_body)
        return body

    def _thinking_option(self, body: dict[str, Any], thinking: bool | dict[str, Any]) -> None:
        enabled = bool(thinking) if not isinstance(thinking, dict) else thinking.get("enabled", True)
        if self.backend is BackendType.Qwen:
            body["enable_thinking"] = enabled
            if isinstance(thinking, dict) and "budget_tokens" in thinking:
                body["thinking_budget"] = thinking["budget_tokens"]
        elif self.backend in (BackendType.ZhiPuAI, BackendType.DeepSeek, BackendType.Moonshot):
            body["thinking"] = {"type": "enabled" if enabled else "disabled"}
        elif (
            self.backend in (BackendType.OpenAI, BackendType.XAI, BackendType.Groq) and isinstance(thinking, dict) and "effort" in thinking
        ):
            body["reasoning_effort"] = thinking["effort"]

    def build_request(self, call: CallParams) -> HttpRequest:
        headers = self._headers
        if call.extra_headers:
            headers = {**headers, **call.extra_headers}
        if call.stream:
            headers = {**headers, "accept": "text/event-stream"}
        return HttpRequest("POST", self._url_template.format(model=call.model_id), headers, dumps(self.request_body(call)))

    # -- response ------------------------------------------------------------------------
    def message_from(self, data: dict[str, Any], response: HttpResponse) -> ChatCompletionMessage:
        if data.get("error"):
            raise self.stream_error(data)
        choices = data.get("choices")
        if not choices or not isinstance(choices, list):
            raise self.parse_error(f"response has no choices: {response.body[:200]!r}")
        choice = choices[0]
        message = choice.get("message") or {}
        content = message.get("content")
        if isinstance(content, list):  # some providers return content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if content and reasoning is None and self.think_tags:
            reasoning, content = split_think(content)
        tool_calls = None
        if message.get("tool_calls"):
            tool_calls = [
                ToolCall(
                    id=call.get("id") or f"call_{i}",
                    function=FunctionCall(name=call["function"]["name"], arguments=call["function"].get("arguments") or ""),
                )
                for i, call in enumerate(message["tool_calls"])
            ]
        return ChatCompletionMessage(
            content=content,
            reasoning_content=reasoning,
            tool_calls=tool_calls,
            finish_reason=choice.get("finish_reason"),
            usage=usage_from_openai(data.get("usage") or choice.get("usage"), self.reasoning_in_completion),
            id=data.get("id"),
            model=data.get("model"),
            endpoint_id=self.endpoint.id,
            raw_response=data,
        )

    def stream_decoder(self) -> StreamDecoder:
        return OpenAIStreamDecoder(self)


class OpenAIStreamDecoder(SSEEventDecoder):
    """``data: {chunk}`` lines until ``data: [DONE]``."""

    _adapter: OpenAICompatibleAdapter
    __slots__ = ("_think",)

    def __init__(self, adapter: OpenAICompatibleAdapter):
        super().__init__(adapter)
        self._think = ThinkTagSplitter() if adapter.think_tags else None

    def _flush(self) -> list[ChatCompletionDeltaMessage]:
        if self._think is not None:
            reasoning, content = self._think.flush()
            if reasoning or content:
                return [ChatCompletionDeltaMessage.model_construct(content=content or None, reasoning_content=reasoning or None)]
        return []

    def _event(self, event: str | None, data: str) -> ChatCompletionDeltaMessage | None:
        if data == "[DONE]":
            self.done = True
            return None
        adapter = self._adapter
        try:
            chunk = self._event_object(data)
            if chunk.get("error"):
                raise adapter.stream_error(chunk)
            choices = chunk.get("choices")
            usage = chunk.get("usage")
            if not choices:
                if usage:
                    return self._added(
                        ChatCompletionDeltaMessage.model_construct(
                            usage=usage_from_openai(usage, adapter.reasoning_in_completion), raw_response=chunk
                        )
                    )
                return None
            choice = choices[0]
            delta = choice.get("delta") or {}
            content = delta.get("content")
            finish_reason = choice.get("finish_reason")
            if not usage and "usage" in choice:
                usage = choice["usage"]  # Moonshot reports usage inside the choice
            think = self._think
            if len(delta) == 1 and content is not None:  # most chunks: a piece of text and nothing else
                if finish_reason is None and not usage and (think is None or not content):
                    return self.acc.text(content, chunk)
                role = reasoning = calls = None
            else:
                role = delta.get("role")
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                calls = delta.get("tool_calls")
            if content and think is not None and not reasoning:
                thought, content = think.feed(content)
                reasoning = thought or None
                content = content or None
                if think.settled:
                    self._think = None  # past the think block: content passes through as it is
            return self._added(
                stream_delta(
                    role,
                    content,
                    reasoning,
                    _tool_call_deltas(calls) if calls else None,
                    finish_reason,
                    usage_from_openai(usage, adapter.reasoning_in_completion) if usage else None,
                    chunk,
                )
            )
        except SHAPE_ERRORS as exc:
            raise adapter.shape_error(exc) from None


def _tool_call_deltas(calls: list[dict[str, Any]]) -> list[ToolCallDelta]:
    deltas = []
    for i, call in enumerate(calls):
        function = call.get("function")
        deltas.append(
            ToolCallDelta.model_construct(
                index=call.get("index", i),
                id=call.get("id"),
                type=call.get("type"),
                function=FunctionCallDelta.model_construct(name=function.get("name"), arguments=function.get("arguments"))
                if function
                else None,
            )
        )
    return deltas
