"""Assemble stream deltas into one :class:`ChatCompletionMessage`.

Each stream decoder keeps one (``StreamDecoder.acc``) and adds every delta it hands out, as it
makes it: a plain text chunk through :meth:`StreamAccumulator.text`, in the same call that builds
it, anything else through :meth:`StreamAccumulator.add`. The stream then only reads the sum.
"""

from __future__ import annotations

from typing import Any

from vv_llm.types.messages import (
    ChatCompletionDeltaMessage,
    ChatCompletionMessage,
    FunctionCall,
    ToolCall,
    Usage,
    text_delta,
)


class StreamAccumulator:
    """Collects deltas; ``message()`` is the reply so far, with tool-call fragments joined."""

    __slots__ = (
        "_uncounted",
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
        self._uncounted = 0
        """Deltas added without a piece of content (the others are counted by ``content``)."""
        self.id: str | None = None
        self.model: str | None = None
        self.endpoint_id = endpoint_id

    def add(self, delta: ChatCompletionDeltaMessage) -> None:
        # The fields read from the instance dict: each attribute read of a pydantic model takes
        # the slow path (models define ``__getattr__``), and this runs for every chunk. Most
        # chunks carry a piece of text and the raw event only: the other fields are tested in one
        # expression and handled in ``_other``.
        fields = delta.__dict__
        content = fields["content"]
        if content:
            self.content.append(content)
        else:
            self._uncounted += 1
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
                self._name(raw)

    def text(self, content: str | None, raw_response: dict[str, Any]) -> ChatCompletionDeltaMessage:
        """``text_delta(content, raw_response)``, added: the chunk most events are (a piece of
        text and nothing else), in a fraction of the time :meth:`add` takes."""
        if content:
            self.content.append(content)
        else:
            self._uncounted += 1
        self.raw = raw_response
        if self.id is None or self.model is None:
            self._name(raw_response)
        return text_delta(content, raw_response)

    def _name(self, raw: dict[str, Any]) -> None:
        # OpenAI chunks and Anthropic's message_start name them id/model; Gemini's chunks
        # responseId/modelVersion. Anything but a string is not a name (a hostile stream's
        # ``"model": []`` must not make the message unbuildable).
        if self.id is None:
            name = raw.get("id") or raw.get("responseId")
            self.id = name if isinstance(name, str) else None
        if self.model is None:
            name = raw.get("model") or raw.get("modelVersion")
            self.model = name if isinstance(name, str) else None

    def add_all(self, deltas: list[ChatCompletionDeltaMessage]) -> list[ChatCompletionDeltaMessage]:
        """Add each of ``deltas``; return them."""
        for delta in deltas:
            self.add(delta)
        return deltas

    @property
    def chunks(self) -> int:
        """How many deltas have been added."""
        return len(self.content) + self._uncounted

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
