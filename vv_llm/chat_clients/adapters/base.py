"""The contract every provider adapter implements.

Adapters are sans-IO: they turn a :class:`CallParams` into an :class:`HttpRequest`, and the
provider's bytes back into vv-llm's types. Sending, retrying, endpoint choice and rate limits
happen around them (``vv_llm.chat_clients.engine``), once for every provider, sync and async.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any

from vv_llm.errors import (
    ContentFilteredError,
    ContextLengthExceededError,
    InvalidRequestError,
    ProviderError,
    ResponseParseError,
    ServerError,
    status_error_class,
)
from vv_llm.types.effects import HttpRequest, HttpResponse  # defined with the effects that carry them; adapters import them from here

if TYPE_CHECKING:
    from vv_llm.chat_clients.accumulator import StreamAccumulator
    from vv_llm.settings.store import ResolvedEndpoint
    from vv_llm.types.enums import BackendType
    from vv_llm.types.messages import ChatCompletionDeltaMessage, ChatCompletionMessage


@dataclass(slots=True)
class CallParams:
    """One call, normalised: OpenAI-format messages and the common parameters."""

    messages: list[dict[str, Any]]
    model_id: str
    stream: bool = False
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_output_tokens: int | None = None
    """The model's output limit from settings, for providers that require ``max_tokens``."""
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    stop: str | list[str] | None = None
    thinking: bool | dict[str, Any] | None = None
    """Reasoning switch: True/False, or provider options such as ``{"budget_tokens": 2048}``."""
    reasoning_effort: str | None = None
    adaptive_thinking: bool = False
    """The model takes Anthropic's adaptive thinking (settings ``adaptive_thinking``)."""
    prompt_cache: bool = False
    """Ask for provider prompt caching where it is opt-in (Anthropic cache_control)."""
    extra_body: dict[str, Any] = field(default_factory=dict)
    extra_headers: dict[str, str] = field(default_factory=dict)


class StreamDecoder(ABC):
    """Turns a provider's streamed bytes into deltas, and adds each one it hands out to ``acc``
    as it makes it. One per attempt at a stream: a failover's new decoder starts a new sum."""

    done: bool = False
    """True once the provider signalled the normal end of the stream."""

    acc: StreamAccumulator
    """Every delta handed out so far (by ``feed``, ``deltas`` or ``close``), added up: the
    stream's message, or its partial output when it fails."""

    @abstractmethod
    def feed(self, data: bytes) -> list[ChatCompletionDeltaMessage]:
        """Consume the next bytes; return the deltas they complete (added to ``acc``)."""

    def close(self) -> list[ChatCompletionDeltaMessage]:
        """The connection ended; flush anything buffered (added to ``acc``)."""
        return []

    def deltas(self, data: bytes) -> Iterable[ChatCompletionDeltaMessage]:
        """As :meth:`feed`, but decoders may hand the deltas out one at a time, each decoded when
        it is asked for: a read that carries a whole stream then never holds all of it decoded
        (which keeps the garbage collector idle under many concurrent streams). The deltas must
        be taken in order, before the next ``deltas``, ``feed`` or ``close``."""
        return self.feed(data)


SHAPE_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError, RecursionError)
"""What a provider answer of an unexpected shape raises while being read (turned into ResponseParseError)."""


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""``json.dumps`` with these arguments builds a new encoder on every call; one is kept instead."""


def dumps(payload: Any) -> bytes:
    return _encode(payload).encode()


OptionFate = tuple[str, "str | None"]
"""``("sent", None)``, ``("mapped", "what it became")`` or ``("dropped", "why")``."""


class Adapter(ABC):
    """Translate between vv-llm's types and one provider protocol, for one endpoint."""

    provider: str = "openai"
    stream_media_types: tuple[str, ...] = ("text/event-stream",)
    """Content types of this protocol's streamed answers."""

    # -- what this protocol takes (the engine reports each option's fate from these) ------
    option_fields: Mapping[str, str] = {}
    """Call option → the request field it becomes (the same name: sent as is). An option missing
    here is dropped: the protocol has nothing for it."""
    structured_formats: frozenset[str] = frozenset()
    """Which ``response_format`` kinds the protocol expresses natively (json_schema, json_object)."""
    structured_target = "response_format"
    """Where a native JSON schema goes, for the request report."""
    json_mode_target = "response_format json_object"

    def option_fate(self, name: str, call: CallParams) -> OptionFate:
        """What becomes of option ``name`` in ``call`` (adapters refine it for conditional cases)."""
        if name == "tool_choice" and not call.tools:
            return "dropped", "no tools were given"
        target = self.option_fields.get(name)
        if target is None:
            return "dropped", f"{self.provider} has no {name} option"
        return ("sent", None) if target == name else ("mapped", target)

    def extra_fate(self, key: str, call: CallParams) -> OptionFate:
        """What becomes of an extra (provider-specific) keyword: sent as is unless the adapter says otherwise."""
        return "sent", None

    def structured_field(self, call: CallParams) -> str:
        """Where a native JSON schema goes for ``call`` (for the request report)."""
        return self.structured_target

    def forced_tool_ok(self, call: CallParams) -> bool:
        """Whether a forced tool call can carry structured output for ``call``."""
        return True

    def __init__(self, backend: BackendType, endpoint: ResolvedEndpoint):
        self.backend = backend
        self.endpoint = endpoint

    @abstractmethod
    def build_request(self, call: CallParams) -> HttpRequest: ...

    def parse_response(self, response: HttpResponse) -> ChatCompletionMessage:
        """A non-streamed answer → :class:`ChatCompletionMessage`; an unreadable one →
        :class:`ResponseParseError`, an error in a 200 answer → the provider's typed error."""
        try:
            try:
                data = json.loads(response.body)
            except ValueError:
                raise self.parse_error(f"response is not JSON: {response.body[:200]!r}") from None
            if not isinstance(data, dict):
                raise self.parse_error(f"unexpected response: {response.body[:200]!r}")
            return self.message_from(data, response)
        except SHAPE_ERRORS as exc:
            raise self.shape_error(exc) from None

    @abstractmethod
    def message_from(self, data: dict[str, Any], response: HttpResponse) -> ChatCompletionMessage:
        """The reply in a decoded JSON answer (its shape errors are turned into ResponseParseError)."""

    @abstractmethod
    def stream_decoder(self) -> StreamDecoder: ...

    def answer_room(self, call: CallParams) -> int | None:
        """The ``max_tokens`` this adapter will send for ``call`` (None: none, the provider's
        default applies). Context control keeps this much of the window for the answer."""
        return call.max_tokens

    # -- the provider's own token count (``count_tokens_remote``) ---------------------------
    count_field: str | None = None
    """The field of the count-tokens answer that holds the prompt's tokens (None: no such endpoint)."""

    def count_request(self, call: CallParams) -> HttpRequest:
        """The count-tokens request for ``call``'s prompt (messages, system, tools): the chat
        request's content without generation options, to the provider's count endpoint."""
        raise InvalidRequestError(
            f"endpoint {self.endpoint.id!r} ({self.provider}) has no token count endpoint; use get_message_token_counts"
        )

    def parse_count(self, response: HttpResponse) -> int:
        """The prompt tokens in a count-tokens answer."""
        field = self.count_field or "input_tokens"
        try:
            data = json.loads(response.body)
        except ValueError:
            data = None
        value = data.get(field) if isinstance(data, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.parse_error(f"the token count answer has no {field}: {response.body[:200]!r}")
        return value

    def refresh_due(self) -> bool:
        """True when credentials must be refreshed (a blocking call) before the next request."""
        return False

    def refresh(self) -> None:
        """Refresh credentials. May block: the async client runs it in a worker thread."""

    # -- errors --------------------------------------------------------------------------
    def error_message(self, body: Any) -> tuple[str | None, str | None]:
        """(message, error type/code) from the provider's error body."""
        if isinstance(body, dict):
            error = body.get("error", body)
            if isinstance(error, dict):
                message = error.get("message") or error.get("msg")
                kind = error.get("type") or error.get("code") or error.get("status")
                return (str(message) if message else None), (str(kind) if kind else None)
            if isinstance(error, str):
                return error, None
        if isinstance(body, str) and body:
            return body[:500], None
        return None, None

    def error_from_response(self, response: HttpResponse) -> ProviderError:
        """The typed error for an HTTP error response."""
        try:
            body: Any = json.loads(response.body) if response.body else None
        except ValueError:
            body = response.body.decode("utf-8", "replace")
        message, kind = self.error_message(body)
        status = response.status
        cls: type[ProviderError] = status_error_class(status)
        text = f"{message or ''} {kind or ''}".lower()
        if status in (400, 413) and (
            ("context" in text and ("length" in text or "window" in text)) or "too many tokens" in text or "prompt is too long" in text
        ):
            cls = ContextLengthExceededError
        elif status == 400 and ("content_filter" in text or "content management policy" in text or "safety" in text):
            cls = ContentFilteredError
        return cls(
            f"{self.provider} returned HTTP {status}: {message or 'no message'}",
            provider=self.provider,
            endpoint_id=self.endpoint.id,
            status=status,
            request_id=request_id_of(response.headers),
            body=body,
            retry_after=retry_after_of(response.headers),
        )

    def stream_error(self, payload: Any) -> ProviderError:
        """The typed error for an error event inside a stream."""
        message, kind = self.error_message(payload)
        cls = ServerError if kind and ("overload" in str(kind).lower() or "server" in str(kind).lower()) else ProviderError
        return cls(f"{self.provider} stream error: {message or payload!r}", provider=self.provider, endpoint_id=self.endpoint.id)

    def parse_error(self, detail: str) -> ResponseParseError:
        return ResponseParseError(f"{self.provider}: {detail}", provider=self.provider, endpoint_id=self.endpoint.id)

    def shape_error(self, exc: BaseException) -> ResponseParseError:
        """The typed error for an answer whose JSON has an unexpected shape."""
        return self.parse_error(f"unexpected response shape ({type(exc).__name__}: {str(exc)[:200]})")


_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "apim-request-id", "x-goog-request-id", "x-acs-request-id")


def request_id_of(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from datetime import datetime
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
