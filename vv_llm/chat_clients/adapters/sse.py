"""Server-sent events framing (WHATWG), shared by every SSE-speaking adapter."""

from __future__ import annotations

import json
import json.scanner
import re
from collections.abc import Iterable, Iterator
from itertools import chain, starmap
from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.accumulator import StreamAccumulator
from vv_llm.chat_clients.adapters.base import SHAPE_ERRORS, StreamDecoder

if TYPE_CHECKING:
    from vv_llm.chat_clients.adapters.base import Adapter
    from vv_llm.types.messages import ChatCompletionDeltaMessage

# The C scanner behind ``JSONDecoder.raw_decode``, called directly: one Python frame less per
# event than raw_decode (~0.3 µs), ~1 µs less than json.loads.
_scan_once = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed: a context object


def loads(data: str) -> Any:
    """``json.loads`` of one event's data, minus ``json.loads``'s own wrappers; same result, same
    ``ValueError`` on bad JSON."""
    try:
        value, end = _scan_once(data, 0)
    except StopIteration:
        return json.loads(data)  # leading whitespace is allowed there; anything else raises
    return value if end == len(data) else json.loads(data)


_EVENT_AND_DATA = re.compile(r"\n\nevent: ([^\n]*)\ndata: ([^\n]*)")
"""A blank line, then one ``event: …`` + ``data: …`` event: (event, data)."""

MAX_LINE_BYTES = 16 * 1024 * 1024
"""The longest SSE line accepted (16 MB): a provider's biggest event is far smaller; a body that
never ends its line is cut off here instead of filling memory."""


class LineTooLong(ValueError):
    """An SSE line went past :data:`MAX_LINE_BYTES` without ending."""


class SSEParser:
    """Incremental SSE parser: ``feed(bytes)`` returns complete ``(event, data)`` pairs.

    Handles ``\\n``, ``\\r\\n`` and ``\\r`` line ends split anywhere across reads, comments, and
    multi-line ``data:`` fields. Linear in the input: reads that do not end a line are held as
    pieces and joined once, when the line ends.
    """

    __slots__ = ("_buffer", "_data", "_event", "_pending", "_pending_size")

    def __init__(self) -> None:
        self._buffer = b""
        """The start of an unfinished line (held over from the last read that ended a line)."""
        self._pending: list[bytes] = []
        """Later reads of that line that held no line end, not yet joined."""
        self._pending_size = 0
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        if self._buffer:
            if b"\n" not in chunk and b"\r" not in chunk and self._buffer[-1:] != b"\r":
                return self._hold(chunk)
            buffer = b"".join((self._buffer, *self._pending, chunk)) if self._pending else self._buffer + chunk
            self._pending = []
            self._pending_size = 0
        else:
            buffer = chunk
        if b"\r" in buffer:
            # A trailing lone \r may be the first half of \r\n: keep it for the next read.
            keep_cr = buffer.endswith(b"\r")
            if keep_cr:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if keep_cr:
                buffer += b"\r"
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        if len(self._buffer) > MAX_LINE_BYTES:
            raise LineTooLong(f"an event-stream line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB")
        events: list[tuple[str | None, str]] = []
        for raw in lines:
            if not raw:
                if self._data or self._event is not None:
                    events.append((self._event, "\n".join(self._data)))
                self._event = None
                self._data = []
                continue
            if len(raw) > MAX_LINE_BYTES:
                raise LineTooLong(f"an event-stream line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB")
            line = raw.decode("utf-8", "replace")
            name, sep, value = line.partition(":")
            if not name and sep:
                continue  # comment
            if value.startswith(" "):
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
        return events

    def _hold(self, chunk: bytes) -> list[tuple[str | None, str]]:
        """A read inside an unfinished line: keep it for when the line ends."""
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if len(self._buffer) + self._pending_size > MAX_LINE_BYTES:
            raise LineTooLong(f"an event-stream line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB")
        return []

    def close(self) -> list[tuple[str | None, str]]:
        """End of input: dispatch a final event not followed by a blank line."""
        events = self.feed(b"\n\n") if self._buffer.strip(b"\r") or self._pending or self._data else []
        self._buffer = b""
        return events


class SSEFramer:
    """:class:`SSEParser` with a fast lane for reads that carry many whole events.

    Servers that write a stream in large pieces (or a fast stream read after a pause) hand over
    hundreds of events per read. Those are split at once, decoded as one string, and the two
    shapes providers send (``data: …`` and ``event: …`` + ``data: …``) are sliced directly; any
    other event, and every event split across reads, goes through the parser. The events are
    exactly the parser's (``tests/unit/adapters/test_sse_reference.py``).
    """

    __slots__ = ("_idle", "_parser")

    def __init__(self) -> None:
        self._parser = SSEParser()
        self._idle = True
        """The parser holds nothing: all bytes fed so far ended with a blank line."""

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        if self._idle and chunk[-2:] == b"\n\n":
            # Providers write one whole event per read, in one of two shapes: sliced directly.
            # The first line break is the one before the final one (``data: …``), or the next one
            # is (``event: …`` + ``data: …``); a ``\r`` anywhere would be a line end too.
            end = len(chunk) - 2
            first = chunk.find(b"\n")
            if first == end:
                if chunk[:6] == b"data: " and b"\r" not in chunk:
                    return [(None, chunk[6:end].decode("utf-8", "replace"))]
            elif (
                chunk[:7] == b"event: "
                and chunk[first + 1 : first + 7] == b"data: "
                and chunk.find(b"\n", first + 1) == end
                and b"\r" not in chunk
            ):
                return [(chunk[7:first].decode("utf-8", "replace"), chunk[first + 7 : end].decode("utf-8", "replace"))]
        parser = self._parser
        if b"\r" in chunk:
            self._idle = False
            return parser.feed(chunk)
        end = chunk.rfind(b"\n\n")
        if self._idle and end == len(chunk) - 2 and chunk.find(b"\n\n") == end:
            return parser.feed(chunk)  # one whole event of another shape (comments, id:, multi-line data)
        events: list[tuple[str | None, str]] = []
        if not self._idle:
            first = chunk.find(b"\n\n")
            if first < 0:
                return parser.feed(chunk)
            events = parser.feed(chunk[: first + 2])  # completes the event it held
            chunk = chunk[first + 2 :]
            end = chunk.rfind(b"\n\n")
        if end > 0:
            events += self._whole(chunk[:end])
        tail = chunk[end + 2 :] if end >= 0 else chunk
        self._idle = not tail
        if tail:
            events += parser.feed(tail)
        return events

    def _whole(self, head: bytes) -> list[tuple[str | None, str]]:
        """Events of ``head``: whole events separated by blank lines, the parser idle before it."""
        text = head.decode("utf-8", "replace")
        if text.startswith("data: "):
            # Every event one ``data: …`` line, as OpenAI-style streams send them, when no value
            # holds a line break: their values, in one split. (The check scans with memchr:
            # counting line breaks cost several times as much.)
            values = text[6:].split("\n\ndata: ")
            if "\n" not in "".join(values):
                return [(None, value) for value in values]
        elif text.startswith("event: "):
            # Every event ``event: …`` + ``data: …``, as Anthropic-style streams send them, in
            # one regex pass, when the matches tile the text: non-overlapping matches whose
            # lengths (16 characters besides the two values) add up to all of it.
            pairs = _EVENT_AND_DATA.findall("\n\n" + text)  # [(event, data), ...]
            if len(text) + 2 == 16 * len(pairs) + len("".join(chain.from_iterable(pairs))):
                return pairs
        events: list[tuple[str | None, str]] = []
        append = events.append
        for block in text.split("\n\n"):
            if block.startswith("data: "):
                if "\n" not in block:
                    append((None, block[6:]))
                    continue
            elif block.startswith("event: "):
                line_end = block.find("\n")
                if line_end > 0 and block.startswith("data: ", line_end + 1) and block.find("\n", line_end + 1) < 0:
                    append((block[7:line_end], block[line_end + 7 :]))
                    continue
            elif not block:
                continue  # blank lines between events
            events += self._parser.feed(block.encode() + b"\n\n")  # comments, id:, multi-line data, ...
        return events

    def close(self) -> list[tuple[str | None, str]]:
        """End of input: dispatch a final event not followed by a blank line."""
        return self._parser.close()


class SSEStreamDecoder(StreamDecoder):
    """A provider's server-sent events → deltas. Subclasses decode the ``(event, data)`` pairs all
    at once (``_decode``), or one event at a time (:class:`SSEEventDecoder`); anything of an
    unexpected shape becomes the adapter's ResponseParseError."""

    __slots__ = ("_adapter", "_sse", "acc", "done")

    def __init__(self, adapter: Adapter):
        self._adapter = adapter
        self._sse = SSEFramer()
        self.done = False
        self.acc = StreamAccumulator(adapter.endpoint.id)

    def feed(self, data: bytes) -> list[ChatCompletionDeltaMessage]:
        return list(self.deltas(data))

    def deltas(self, data: bytes) -> Iterable[ChatCompletionDeltaMessage]:
        try:
            events = self._sse.feed(data)
        except LineTooLong as exc:
            raise self._adapter.parse_error(str(exc)) from None
        return self._each(events)

    def close(self) -> list[ChatCompletionDeltaMessage]:
        try:
            events = self._sse.close()
        except LineTooLong as exc:
            raise self._adapter.parse_error(str(exc)) from None
        deltas = list(self._each(events))
        try:
            return deltas + self.acc.add_all(self._flush())
        except SHAPE_ERRORS as exc:
            raise self._adapter.shape_error(exc) from None

    def _each(self, events: list[tuple[str | None, str]]) -> Iterator[ChatCompletionDeltaMessage]:
        """The deltas of ``events``, added."""
        try:
            return iter(self.acc.add_all(self._decode(events)))
        except SHAPE_ERRORS as exc:
            raise self._adapter.shape_error(exc) from None

    def _decode(self, events: list[tuple[str | None, str]]) -> list[ChatCompletionDeltaMessage]:
        raise NotImplementedError

    def _flush(self) -> list[ChatCompletionDeltaMessage]:
        """Deltas still held back when the stream ends (added by :meth:`close`)."""
        return []

    def _event_object(self, data: str) -> dict[str, Any]:
        """One event's JSON object: the inline scan, else :meth:`_payload`'s checks and errors."""
        try:
            value, end = _scan_once(data, 0)
        except (StopIteration, ValueError):
            end = -1
        if end == len(data) and type(value) is dict:
            return value
        value = self._payload(data)  # surrounding whitespace, or the error that says what it was
        if not isinstance(value, dict):
            raise self._adapter.parse_error(f"unexpected stream data: {data[:200]!r}")
        return value

    def _payload(self, data: str) -> Any:
        """One event's JSON data (an object or, for some framings, an array): :func:`loads`
        inlined, as this runs once per streamed event."""
        try:
            try:
                value, end = _scan_once(data, 0)
            except StopIteration:
                end = -1
            if end != len(data):
                value = json.loads(data)  # whitespace around the value is allowed; anything else raises
        except ValueError:
            raise self._adapter.parse_error(f"malformed stream data: {data[:200]!r}") from None
        if not isinstance(value, dict | list):
            raise self._adapter.parse_error(f"unexpected stream data: {data[:200]!r}")
        return value


class SSEEventDecoder(SSEStreamDecoder):
    """An SSE decoder whose every event gives at most one delta, ``_event(event, data)``, which
    adds it as it makes it: a plain text chunk as ``self.acc.text(content, raw)``, any other as
    ``self._added(delta)`` (no call per delta around ``_event``: most deltas are text).

    Events are decoded one at a time, each when its delta is asked for (a read that carries a
    whole stream never holds all of it decoded). A read of one event, as providers write them,
    is decoded at once: no generator per read.
    """

    __slots__ = ()

    def deltas(self, data: bytes) -> Iterable[ChatCompletionDeltaMessage]:
        try:
            events = self._sse.feed(data)
        except LineTooLong as exc:
            raise self._adapter.parse_error(str(exc)) from None
        if len(events) == 1:
            event, payload = events[0]
            delta = self._event(event, payload)
            return () if delta is None else (delta,)
        return self._each(events) if events else ()

    def _each(self, events: list[tuple[str | None, str]]) -> Iterator[ChatCompletionDeltaMessage]:
        # Lazy, and in C: no generator frame resumed per delta (~0.1 µs). filter(None) drops the
        # events that give nothing; a delta is always true (models define no __bool__ or __len__).
        return filter(None, starmap(self._event, events))

    def _event(self, event: str | None, data: str) -> ChatCompletionDeltaMessage | None:
        """The delta of one event, added to ``acc`` (None: it carries nothing for the caller).
        Shape errors are mapped to the adapter's ResponseParseError here (``adapter.shape_error``)."""
        raise NotImplementedError

    def _added(self, delta: ChatCompletionDeltaMessage | None) -> ChatCompletionDeltaMessage | None:
        """``delta``, added to ``acc`` (None passes through)."""
        if delta is not None:
            self.acc.add(delta)
        return delta
