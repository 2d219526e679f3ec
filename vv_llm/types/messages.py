"""Response types shared by every backend.

Every adapter translates its provider's reply into these models, so callers see one shape
whatever backend answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from vv_llm.types.report import RequestReport

if TYPE_CHECKING:
    from typing import Self

_MISSING = object()
_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple, frozenset)
_object_new = object.__new__
_object_setattr = object.__setattr__
_PLANS: dict[type, tuple[dict[str, Any], int, bool] | None] = {}


def _construct_plan(cls: type[BaseModel]) -> tuple[dict[str, Any], int, bool] | None:
    """Every field's default in declaration order (``_MISSING`` for required ones), or None when
    the model uses something the fast path does not reproduce (aliases, factories, private state)."""
    if cls.__pydantic_post_init__ or cls.__private_attributes__ or cls.model_config.get("extra") == "allow":
        return None
    defaults: dict[str, Any] = {}
    required = False
    for name, field in cls.__pydantic_fields__.items():
        if field.alias is not None or field.validation_alias is not None or field.default_factory is not None:
            return None
        if field.is_required():
            defaults[name] = _MISSING
            required = True
        elif isinstance(field.default, _IMMUTABLE):
            defaults[name] = field.default
        else:
            return None  # pydantic deep-copies mutable defaults
    return defaults, len(defaults), required


class _Model(BaseModel):
    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Self:
        """Same instance as pydantic's ``model_construct`` (no validation), several times cheaper:
        adapters build one or more of these per streamed chunk. pydantic's own loop runs for
        anything unusual (unknown names, missing required fields)."""
        plan: Any = _PLANS.get(cls, False)
        if plan is False:
            plan = _PLANS[cls] = _construct_plan(cls)
        if plan is not None:
            defaults, count, required = plan
            fields = {**defaults, **values}
            if len(fields) == count and not (required and _MISSING in fields.values()):
                model = _object_new(cls)
                _object_setattr(model, "__dict__", fields)
                _object_setattr(model, "__pydantic_fields_set__", set(values) if _fields_set is None else _fields_set)
                _object_setattr(model, "__pydantic_extra__", None)
                _object_setattr(model, "__pydantic_private__", None)
                return model
        return super().model_construct(_fields_set, **values)


class Usage(_Model):
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

    @classmethod
    def normalised(
        cls,
        *,
        prompt: int,
        completion: int,
        reasoning: int = 0,
        reported_total: int | None = None,
        reasoning_in_completion: bool | None = None,
        cached: int = 0,
        cache_creation: int = 0,
    ) -> Usage:
        """The one rule every adapter's usage goes through: ``completion_tokens`` includes
        reasoning and ``total_tokens == prompt_tokens + completion_tokens``.

        ``reasoning_in_completion`` is how the provider counts: True (OpenAI and most: a part of
        its completion count), False (xAI, Gemini's thoughts: on top of it), None (unknown: judged
        from its total — a total that equals prompt + completion + reasoning, or a reasoning
        count above the completion count, means reasoning was left out).
        """
        if reasoning and (
            reasoning_in_completion is False
            or (
                reasoning_in_completion is None
                and (
                    reasoning > completion or (reported_total == prompt + completion + reasoning and reported_total != prompt + completion)
                )
            )
        ):
            completion += reasoning
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            cached_tokens=cached,
            cache_creation_tokens=cache_creation,
            reasoning_tokens=reasoning,
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class FunctionCall(_Model):
    name: str
    arguments: str = ""
    """JSON text of the arguments, exactly as the model produced it."""


class ToolCall(_Model):
    """A complete tool call in the OpenAI shape."""

    id: str
    type: str = "function"
    function: FunctionCall

    def parsed_arguments(self) -> Any:
        """The arguments decoded from JSON (raises ``ValueError`` if the model produced invalid JSON)."""
        import json

        return json.loads(self.function.arguments or "{}")


class FunctionCallDelta(_Model):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(_Model):
    """A fragment of a streamed tool call; fragments with the same ``index`` belong together."""

    index: int
    id: str | None = None
    type: str | None = None
    function: FunctionCallDelta | None = None


class ChatCompletionMessage(_Model):
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
    trimmed_messages: list[dict[str, Any]] | None = Field(default=None, repr=False)
    """Messages dropped from the start of the conversation to fit the model's context window
    (None when nothing was dropped; ``skip_cutoff=True`` turns the cutting off)."""
    parsed: Any = None
    """With ``response_format``: the answer validated — an instance of the pydantic model given, or
    the decoded JSON (a dict for an object schema). None otherwise."""
    request_report: RequestReport | None = Field(default=None, repr=False)
    """What the provider received: endpoint, model id, and each option sent / mapped / dropped."""

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


class ChatCompletionDeltaMessage(_Model):
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


# The slots' own setters, called directly: object.__setattr__ looks each name up first.
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def stream_delta(
    role: str | None,
    content: str | None,
    reasoning_content: str | None,
    tool_calls: list[ToolCallDelta] | None,
    finish_reason: str | None,
    usage: Usage | None,
    raw_response: dict[str, Any] | None,
) -> ChatCompletionDeltaMessage:
    """``ChatCompletionDeltaMessage.model_construct(role=..., ..., raw_response=...)`` for values a
    decoder already checked, in under half the time: decoders build one per chunk."""
    delta = _object_new(ChatCompletionDeltaMessage)
    _set_dict(
        delta,
        {
            "role": role,
            "content": content,
            "reasoning_content": reasoning_content,
            "tool_calls": tool_calls,
            "finish_reason": finish_reason,
            "usage": usage,
            "provider_content": None,
            "raw_response": raw_response,
        },
    )
    # A set display builds the 7-name set in ~2/3 of the time copying one takes (no resize pass).
    _set_fields_set(delta, {"role", "content", "reasoning_content", "tool_calls", "finish_reason", "usage", "raw_response"})
    _set_extra(delta, None)
    _set_private(delta, None)
    return delta


_TEXT_DELTA_FIELDS = dict.fromkeys(ChatCompletionDeltaMessage.model_fields)
"""Every field None, in declaration order: :func:`text_delta` copies it (a dict copy and two
stores take about half the time of building the eight-entry dict)."""
_copy_text_fields = _TEXT_DELTA_FIELDS.copy


def text_delta(content: str | None, raw_response: dict[str, Any] | None) -> ChatCompletionDeltaMessage:
    """``ChatCompletionDeltaMessage.model_construct(content=content, raw_response=raw_response)``,
    the same instance, for the chunk most events are (a piece of text and nothing else), in a
    third of the time."""
    delta = _object_new(ChatCompletionDeltaMessage)
    fields = _copy_text_fields()
    fields["content"] = content
    fields["raw_response"] = raw_response
    _set_dict(delta, fields)
    # Two names fit a set's inline table; seven needed a table of their own (a malloc and a free).
    _set_fields_set(delta, {"content", "raw_response"})
    _set_extra(delta, None)
    _set_private(delta, None)
    return delta
