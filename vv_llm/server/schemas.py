"""Request and response bodies of the token server (pydantic; unknown fields are refused)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from vv_llm.server.json_text import JsonText
from vv_llm.types.enums import BackendType

Sized = TypeVar("Sized", str, JsonText)

MAX_TEXT_CHARS = 4_000_000
"""The longest text counted in one request (about a million tokens)."""
MAX_MESSAGES = 10_000
MAX_PARTS = 1_000
MAX_TOOLS = 1_000


def _within_text_limit(text: Sized) -> Sized:
    # ``len`` of a str is free. pydantic's own ``max_length`` reads the text as UTF-8 to count its
    # characters, which leaves a UTF-8 copy of any non-ASCII text attached to the str for as long
    # as it lives: as much memory again as the request body, while the text is counted.
    if len(text) > MAX_TEXT_CHARS:
        raise PydanticCustomError("string_too_long", "String should have at most {max_length} characters", {"max_length": MAX_TEXT_CHARS})
    return text


_TEXT_SCHEMA = WithJsonSchema({"type": "string", "maxLength": MAX_TEXT_CHARS})
LongText = Annotated[str, AfterValidator(_within_text_limit), _TEXT_SCHEMA]
"""A text of at most ``MAX_TEXT_CHARS`` characters."""


def _json_text_as_it_is(value: Any, validate: ValidatorFunctionWrapHandler) -> Any:
    return _within_text_limit(value) if isinstance(value, JsonText) else validate(value)


TextInPieces = Annotated[str, AfterValidator(_within_text_limit), WrapValidator(_json_text_as_it_is), _TEXT_SCHEMA]
"""A :data:`LongText` that may also be a long text left in the request body (a
:class:`~vv_llm.server.json_text.JsonText`, see ``body.text_in_pieces``): then it is that, not a ``str``."""

ModelName = Annotated[str, Field(min_length=1, max_length=256, description="Model name, e.g. gpt-4o, claude-sonnet-4-5, deepseek-chat.")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Body):
    type: Literal["text"]
    text: TextInPieces


class ImageURL(_Body):
    url: str = Field(
        pattern=r"^(data:|https?://|gs://)",
        description="A data URL (its size is read from the image) or a remote URL (counted as the largest image the provider bills).",
    )
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Body):
    type: Literal["image_url"]
    image_url: ImageURL


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class FunctionCall(_Body):
    name: str
    arguments: LongText = ""


class ToolCall(_Body):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Body):
    """An OpenAI-format chat message."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[str, _TEXT_SCHEMA] | Annotated[list[Part], Field(max_length=MAX_PARTS)] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @field_validator("content", mode="wrap")
    @classmethod
    def _content_within_limit(cls, content: Any, validate: ValidatorFunctionWrapHandler) -> Any:
        # Checked on the field, not in the union's str branch: the error then names ``content``,
        # not a validator of one branch. A long text left in the body is let through as it is.
        if isinstance(content, JsonText):
            return _within_text_limit(content)
        content = validate(content)
        return _within_text_limit(content) if isinstance(content, str) else content


class FunctionDefinition(_Body):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class Tool(_Body):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class TextRequest(_Body):
    model: ModelName
    backend: BackendType | None = Field(default=None, description="The backend serving the model; inferred from the name when omitted.")
    text: TextInPieces


class MessagesRequest(_Body):
    model: ModelName
    backend: BackendType | None = None
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    tools: list[Tool] | None = Field(default=None, max_length=MAX_TOOLS)


class Tokenizer(BaseModel):
    name: str = Field(description="o200k_base, cl100k_base, deepseek, qwen, qwen3.5, or estimate.")
    family: Literal["openai", "anthropic", "gemini"] = Field(description="Whose message rules apply.")
    backend: str | None
    exact: bool = Field(description="True when the text count equals the provider's tokenizer, to the token.")
    scale: float = Field(description="For estimates: the factor applied to the o200k_base count.")


class TextResponse(BaseModel):
    model: str
    tokens: int
    tokenizer: Tokenizer


class MessagesResponse(BaseModel):
    model: str
    tokens: int = Field(description="Prompt tokens of the whole request, as the provider bills it.")
    messages: list[int] = Field(description="Each message's tokens, its overhead included.")
    tools: int
    reply: int = Field(description="Tokens priming the reply.")
    images: int = Field(description="Image tokens (included in messages).")
    tokenizer: Tokenizer


class Health(BaseModel):
    status: Literal["ok"] = "ok"
