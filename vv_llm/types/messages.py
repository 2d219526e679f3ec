"""Response types shared by every backend.

Every adapter translates its provider's reply into these models, so callers see one shape
whatever backend answered.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Usage(BaseModel):
    """Token counts of one call, normalised across providers.

    ``prompt_tokens`` always counts every input token, cached or not (Anthropic's separate
    cache counters are folded in), so cost can be computed the same way for every provider.
    """

    model_config = ConfigDict(extra="ignore")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    """Input tokens read from the provider's prompt cache (part of ``prompt_tokens``)."""
    cache_creation_tokens: int = 0
    """Input tokens written to the provider's prompt cache (part of ``prompt_tokens``)."""
    reasoning_tokens: int = 0
    """Output tokens spent on reasoning (part of ``completion_tokens``)."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class FunctionCall(BaseModel):
    name: str
    arguments: str = ""
    """JSON text of the arguments, exactly as the model produced it."""


class ToolCall(BaseModel):
    """A complete tool call in the OpenAI shape."""

    id: str
    type: str = "function"
    function: FunctionCall

    def parsed_arguments(self) -> Any:
        """The arguments decoded from JSON (raises ``ValueError`` if the model produced invalid JSON)."""
        import json

        return json.loads(self.function.arguments or "{}")


class FunctionCallDelta(BaseModel):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(BaseModel):
    """A fragment of a streamed tool call; fragments with the same ``index`` belong together."""

    index: int
    id: str | None = None
    type: str | None = None
    function: FunctionCallDelta | None = None


class ChatCompletionMessage(BaseModel):
    """The assistant's reply to a non-streamed call (or the accumulation of a stream)."""

    model_config = ConfigDict(extra="ignore")

    role: str = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    finish_reason: str | None = None
    """Normalised: ``stop``, ``length``, ``tool_calls``, ``content_filter``, or the provider's own value."""
    usage: Usage | None = None
    id: str | None = None
    model: str | None = None
    """The model id the provider reports."""
    endpoint_id: str | None = None
    """Which configured endpoint answered."""
    provider_content: list[dict[str, Any]] | None = None
    """Provider-native content blocks that must be sent back verbatim on the next turn
    (e.g. Anthropic thinking blocks with their signatures)."""
    raw_response: dict[str, Any] | None = Field(default=None, repr=False)
    """The provider's response body as received (for streams: the last event)."""

    def to_openai_message(self) -> dict[str, Any]:
        """This reply as an OpenAI-format assistant message, ready to append to the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.model_dump() for call in self.tool_calls]
        if self.reasoning_content is not None:
            message["reasoning_content"] = self.reasoning_content
        if self.provider_content:
            message["provider_content"] = self.provider_content
        return message


class ChatCompletionDeltaMessage(BaseModel):
    """One chunk of a stream. Fields that did not change in this chunk are ``None``."""

    model_config = ConfigDict(extra="ignore")

    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    provider_content: list[dict[str, Any]] | None = None
    raw_response: dict[str, Any] | None = Field(default=None, repr=False)
