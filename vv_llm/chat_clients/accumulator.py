"""Assemble stream deltas into one :class:`ChatCompletionMessage`."""

from __future__ import annotations

from typing import Any

from vv_llm.types.messages import (
    ChatCompletionDeltaMessage,
    ChatCompletionMessage,
    FunctionCall,
    ToolCall,
    Usage,
)


class StreamAccumulator:
    """Collects deltas; ``message()`` is the reply so far, with tool-call fragments joined."""

    __slots__ = (
        "chunks",
        "content",
        "endpoint_id",
        "finish_reason",
        "id",
        "model",
        "provider_content",
        "raw",
        "reasoning",
        "tools",
        "usage",
    )

    def __init__(self, endpoint_id: str | None = None) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.tools: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.provider_content: list[dict[str, Any]] | None = None
        self.raw: dict[str, Any] | None = None
        self.chunks = 0
        self.id: str | None = None
        self.model: str | None = None
        self.endpoint_id = endpoint_id

    def add(self, delta: ChatCompletionDeltaMessage) -> None:
        # The fields read from the instance dict: each attribute read of a pydantic model takes
        # the slow path (models define ``__getattr__``), and this runs for every chunk. Most
        # chunks carry a piece of text and the raw event only: the other fields are tested in one
        # expression and handled in ``_other``.
        fields = delta.__dict__
        self.chunks += 1
        content = fields["content"]
        if content:
            self.content.append(content)
        if (
            fields["reasoning_content"]
            or fields["tool_calls"]
            or fields["finish_reason"]
            or fields["usage"] is not None
            or fields["provider_content"]
        ):
            self._other(fields)
        raw = fields["raw_response"]
        if raw is not None:
            self.raw = raw
            if self.id is None or self.model is None:
                # OpenAI chunks and Anthropic's message_start name them id/model; Gemini's chunks
                # responseId/modelVersion.
                if self.id is None:
                    self.id = raw.get("id") or raw.get("responseId")
                if self.model is None:
                    self.model = raw.get("model") or raw.get("modelVersion")

    def _other(self, fields: dict[str, Any]) -> None:
        reasoning = fields["reasoning_content"]
        if reasoning:
            self.reasoning.append(reasoning)
        if fields["tool_calls"]:
            for fragment in fields["tool_calls"]:
                slot = self.tools.setdefault(fragment.index, {"id": None, "name": "", "arguments": []})
                if fragment.id:
                    slot["id"] = fragment.id
                if fragment.function is not None:
                    if fragment.function.name:
                        slot["name"] += fragment.function.name
                    if fragment.function.arguments:
                        slot["arguments"].append(fragment.function.arguments)
        if fields["finish_reason"]:
            self.finish_reason = fields["finish_reason"]
        if fields["usage"] is not None:
            self.usage = fields["usage"]
        if fields["provider_content"]:
            self.provider_content = fields["provider_content"]

    @property
    def has_output(self) -> bool:
        return bool(self.content or self.reasoning or self.tools)

    def message(self) -> ChatCompletionMessage:
        tool_calls = None
        if self.tools:
            tool_calls = [
                ToolCall(id=slot["id"] or f"call_{index}", function=FunctionCall(name=slot["name"], arguments="".join(slot["arguments"])))
                for index, slot in sorted(self.tools.items())
            ]
        return ChatCompletionMessage(
            content="".join(self.content) if self.content or not tool_calls else None,
            reasoning_content="".join(self.reasoning) if self.reasoning else None,
            tool_calls=tool_calls,
            finish_reason=self.finish_reason,
            usage=self.usage,
            id=self.id,
            model=self.model,
            endpoint_id=self.endpoint_id,
            provider_content=self.provider_content,
            raw_response=self.raw,
        )
