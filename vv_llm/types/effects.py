"""What a call plan asks its driver to do. The plan (``engine``) is written once; a sync and an
async transport (``transport``) each carry these out. Also the HTTP request and response they
carry, which adapters build and read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from vv_llm.types.messages import ChatCompletionDeltaMessage


@dataclass(slots=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass(slots=True)
class HttpResponse:
    """A complete (non-streamed, or error) HTTP response."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Decoder(Protocol):
    """What :class:`ReadFirst` reads a stream with (an adapter's ``StreamDecoder``)."""

    done: bool

    def feed(self, data: bytes) -> list[ChatCompletionDeltaMessage]: ...

    def close(self) -> list[ChatCompletionDeltaMessage]: ...


@dataclass(slots=True)
class Timeouts:
    connect: float
    read: float


@dataclass(slots=True)
class Send:
    """Send a request and read the whole response → ``HttpResponse``."""

    request: HttpRequest
    timeouts: Timeouts
    proxy: str | None
    deadline: float | None = None
    """``time.monotonic()`` by which the whole answer must have arrived (bytes that keep coming do
    not extend it) → ``APITimeoutError``."""


@dataclass(slots=True)
class Open:
    """Send a request and read only the head → ``OpenedResponse`` (body read and closed on HTTP errors)."""

    request: HttpRequest
    timeouts: Timeouts
    proxy: str | None
    deadline: float | None = None
    """As for :class:`Send`: the body's chunks end with ``APITimeoutError`` once it has passed."""


@dataclass(slots=True)
class ReadFirst:
    """Read a stream until the first delta that carries output (or its end) → list of deltas.
    On failure the response is closed before the error is raised."""

    opened: Any
    decoder: Decoder


@dataclass(slots=True)
class Sleep:
    seconds: float


@dataclass(slots=True)
class Blocking:
    """Run a blocking function (credentials refresh, a shared rate-limit store) → its result.
    The async transport runs it in a worker thread."""

    fn: Callable[[], Any]


@dataclass(slots=True)
class OpenedResponse:
    status: int
    headers: Any
    response: Any
    """The transport's response object (httpx), for closing."""
    chunks: Any
    """The transport's iterator (or async iterator) over the body."""
    body: bytes = b""
    """The body, when ``status`` is an error."""
    rest: Any = None
    """The deltas of the read that ``ReadFirst`` stopped in, after the first with output (an
    iterator: they are decoded as they are taken)."""
