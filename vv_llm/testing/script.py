"""Scripted replies for the fake server, in a provider-neutral form each wire protocol renders."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from vv_llm.testing.structured_reply import sample, structured_request
from vv_llm.utilities.tokens import get_message_token_counts, get_token_counts


@dataclass
class ToolCallSpec:
    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments, ensure_ascii=False)


@dataclass
class Reply:
    """What the fake provider answers to one request.

    Content and reasoning are streamed in pieces of ``chunk_chars`` characters, ``chunk_delay``
    seconds apart. Fault fields make the reply fail in the ways real providers do.
    """

    content: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    finish_reason: str | None = None
    """Defaults to ``tool_calls`` when there are tool calls, else ``stop``."""
    model: str | None = None
    """Model id to report; defaults to the requested one."""
    chunk_chars: int = 8
    chunk_delay: float = 0.0
    first_byte_delay: float = 0.0
    prompt_tokens: int | None = None
    """Override the computed usage."""
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    """Override the reasoning tokens reported (else counted from ``reasoning``)."""
    usage_style: str = "openai"
    """OpenAI-compatible only: ``openai`` (``completion_tokens`` includes reasoning) or ``xai``
    (as xAI reports: ``completion_tokens`` without reasoning, ``total_tokens`` with it; a
    ``completion_tokens`` override is then the visible part)."""
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_style: str = "field"
    """OpenAI-compatible only: ``field`` (``reasoning_content``), ``reasoning`` (``reasoning`` field) or ``think_tags``."""
    signature: str = "sig-demo"
    """Anthropic thinking-block signature."""
    safety_block: bool = False
    """Gemini: answer with a SAFETY finish reason and no text."""
    # faults
    status: int = 200
    error_message: str | None = None
    error_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reset_after_chunks: int | None = None
    """Stream: reset the connection after this many content chunks."""
    malformed_after_chunks: int | None = None
    """Stream: send an unparseable line after this many content chunks."""
    close_before_response: bool = False
    """Close the connection without answering."""
    stream_error_after_chunks: int | None = None
    """Stream: send the provider's in-stream error event after this many chunks."""
    end_stream_early: bool = False
    """Stream: end the body cleanly without the protocol's end marker (e.g. no ``[DONE]``)."""
    keepalive_every: float = 0.0
    """Hold the answer open with keep-alive bytes this many seconds apart (``keepalive_count`` of
    them): SSE comments (``: keep-alive``) in a stream, after ``keepalive_after_chunks`` content
    chunks; spaces before the JSON of a plain answer."""
    keepalive_count: int = 0
    keepalive_after_chunks: int = 0
    raw_body: bytes | None = None
    """Answer with these bytes as the whole body (status ``status``), e.g. an HTML error page."""
    raw_content_type: str = "text/html; charset=utf-8"

    @classmethod
    def error(
        cls, status: int, message: str = "simulated error", *, error_type: str | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        return cls(status=status, error_message=message, error_type=error_type, headers=dict(headers or {}))

    @classmethod
    def rate_limited(cls, retry_after: float | None = 1, message: str = "Rate limit reached") -> Reply:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return cls(status=429, error_message=message, error_type="rate_limit_exceeded", headers=headers)

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    def final_finish_reason(self) -> str:
        if self.finish_reason:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


def split_text(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class RequestInfo:
    """What a wire protocol extracted from a request, for responders and usage."""

    protocol: str
    model: str
    stream: bool
    messages_text: str
    """All prompt text joined (for usage estimates and echo replies)."""
    last_user_text: str
    tools: list[str]
    """Names of declared tools."""
    include_usage: bool = True
    thinking: bool = False
    body: Any = None
    prompt: Any = None
    """The prompt as vv-llm's message counter takes it (OpenAI messages, or Anthropic's
    ``{"system", "messages"}``), so reported usage matches ``get_message_token_counts``."""
    prompt_tools: Any = None
    backend: str | None = None
    """Whose billing rules count the prompt (None: judged by the model name)."""


def prompt_tokens(info: RequestInfo) -> int:
    """The prompt tokens the fake reports: vv-llm's own message count with the same tokenizers, so
    the playground's estimates and the usage it is billed agree; a rough count if it cannot read it."""
    if info.prompt is not None:
        try:
            return get_message_token_counts(info.prompt, info.prompt_tools, info.model, info.backend)
        except Exception:  # a request vv-llm cannot count (the fake still answers it)
            pass
    return count_tokens(info.messages_text, info.model) + 7 * max(1, info.messages_text.count("\n") + 1)


def count_tokens(text: str, model: str) -> int:
    """Token count the fake reports: vv-llm's own tokenizer for the model."""
    return get_token_counts(text, model) if text else 0


def echo_responder(info: RequestInfo) -> Reply:
    """Default reply: a short deterministic answer quoting the prompt (JSON that fits the schema when
    the request asks for structured output)."""
    said = info.last_user_text.strip().replace("\n", " ")
    if len(said) > 80:
        said = said[:77] + "..."
    wanted = structured_request(info.protocol, info.body)
    if wanted is not None:
        schema, tool = wanted
        value = sample(schema, said) if schema else {"answer": said}
        if tool:
            return Reply(tool_calls=[ToolCallSpec(tool, value)])
        return Reply(content=json.dumps(value, ensure_ascii=False))
    return Reply(content=f"This is the vv-llm fake {info.protocol} server answering {info.model}. You said: {said}")
