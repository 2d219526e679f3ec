"""The SSE parser's fast paths change nothing: the same events as the plain line-by-line parser,
for any stream split anywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vv_llm.chat_clients.adapters.sse import SSEFramer, SSEParser, loads


class ReferenceParser:
    """The parser before its fast paths: every line decoded and split on ':' the plain way."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        buffer = self._buffer + chunk
        if b"\r" in buffer:
            keep_cr = buffer.endswith(b"\r")
            if keep_cr:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if keep_cr:
                buffer += b"\r"
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        events: list[tuple[str | None, str]] = []
        for raw in lines:
            if not raw:
                if self._data or self._event is not None:
                    events.append((self._event, "\n".join(self._data)))
                self._event = None
                self._data = []
                continue
            name, sep, value = raw.decode("utf-8", "replace").partition(":")
            if not name and sep:
                continue
            if value.startswith(" "):
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
        return events

    def close(self) -> list[tuple[str | None, str]]:
        return self.feed(b"\n\n") if self._buffer.strip(b"\r") or self._data else []


def parse(parser: SSEParser | SSEFramer | ReferenceParser, stream: bytes, cuts: list[int]) -> list[tuple[str | None, str]]:
    events = []
    start = 0
    for cut in [*cuts, len(stream)]:
        events += parser.feed(stream[start:cut])
        start = cut
    return events + parser.close()


LINES = st.sampled_from(
    [
        b'data: {"a":1}',
        b"data:{}",
        b"data: [DONE]",
        b"data",
        b"data:",
        b"data:  two spaces",
        b"datax: not data",
        b"event: message_start",
        b"event",
        b"eventful: no",
        b": comment",
        b"id: 7",
        b"retry: 10",
        "data: 你好".encode(),
        b"",
    ]
)
ENDINGS = st.sampled_from([b"\n", b"\r\n", b"\r"])
# Mostly \n-ended events, as providers send them (the framer's fast lane), with the odd other line.
LF_LINES = st.one_of(
    st.sampled_from([b'data: {"a":1}', b"data: [DONE]", b"event: content_block_delta", b"", b""]),
    LINES,
    st.just("data: broken \u4f60".encode()[:-1]),  # a character cut in the middle
)
LF_ENDINGS = st.sampled_from([b"\n"] * 8 + [b"\r\n", b"\r"])


@st.composite
def streams(
    draw: st.DrawFn, lines: st.SearchStrategy[bytes] = LINES, endings: st.SearchStrategy[bytes] = ENDINGS
) -> tuple[bytes, list[int]]:
    parts = draw(st.lists(st.tuples(lines, endings), max_size=40))
    stream = b"".join(line + end for line, end in parts)
    if draw(st.booleans()):
        stream += draw(lines)  # unterminated last line
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    return stream, cuts


@settings(max_examples=400, deadline=None)
@given(streams())
def test_same_events_as_reference_for_any_split(case: tuple[bytes, list[int]]) -> None:
    stream, cuts = case
    assert parse(SSEParser(), stream, cuts) == parse(ReferenceParser(), stream, cuts)


@settings(max_examples=600, deadline=None)
@given(streams(LF_LINES, LF_ENDINGS))
def test_framer_same_events_as_reference_for_any_split(case: tuple[bytes, list[int]]) -> None:
    stream, cuts = case
    assert parse(SSEFramer(), stream, cuts) == parse(ReferenceParser(), stream, cuts)


@settings(max_examples=200, deadline=None)
@given(streams())
def test_framer_same_events_as_reference_with_any_line_ends(case: tuple[bytes, list[int]]) -> None:
    stream, cuts = case
    assert parse(SSEFramer(), stream, cuts) == parse(ReferenceParser(), stream, cuts)


def test_framer_many_events_per_read() -> None:
    """A stream written in large pieces: every event once, in order, whatever the piece size."""
    events = [f'data: {{"i":{i},"t":"你好"}}\n\n'.encode() if i % 3 else f'event: e{i}\ndata: {{"i":{i}}}\n\n'.encode() for i in range(500)]
    stream = b"".join(events) + b"data: [DONE]\n\n"
    expected = parse(ReferenceParser(), stream, [])
    assert len(expected) == 501
    for size in (1, 7, 100, 4096, 65536):
        cuts = list(range(size, len(stream), size))
        assert parse(SSEFramer(), stream, cuts) == expected


DATA_LINES = st.sampled_from(
    [b'data: {"a":1}', b"data: ", b"data:  two spaces", b"data: [DONE]", "data: 你好".encode(), b"", b"data:x", b": c"]
)


@settings(max_examples=400, deadline=None)
@given(streams(DATA_LINES, st.just(b"\n")))
def test_framer_data_only_reads_same_events_as_reference(case: tuple[bytes, list[int]]) -> None:
    """Reads of ``data:`` lines only (the one-split lane), with the odd blank line, comment or
    ``data:`` without its space that must leave it."""
    stream, cuts = case
    assert parse(SSEFramer(), stream, cuts) == parse(ReferenceParser(), stream, cuts)


def test_framer_data_only_stream_in_large_pieces() -> None:
    events = [f'data: {{"i":{i},"t":"你好"}}\n\n'.encode() for i in range(500)] + [b"data: \n\n", b"data: [DONE]\n\n"]
    stream = b"".join(events)
    expected = parse(ReferenceParser(), stream, [])
    assert len(expected) == 502 and expected[-2:] == [(None, ""), (None, "[DONE]")]
    for size in (5, 333, 4096, 65536, len(stream)):
        assert parse(SSEFramer(), stream, list(range(size, len(stream), size))) == expected


@pytest.mark.parametrize(
    "odd",
    [
        b"data: a\ndata: b",  # multi-line data among one-line ones
        b"data: x\nid: 7",
        b": a comment",
        b"event: e\ndata: y",  # one event of the other shape
        b"data: ",
    ],
)
@pytest.mark.parametrize("shape", ["data", "event"])
def test_framer_whole_reads_with_one_odd_event(odd: bytes, shape: str) -> None:
    """A read of many events of one shape with one event that is not: the one-pass lanes must
    notice it (their checks are a line-break scan and the matches' lengths) and give the parser's
    events."""
    one = (lambda i: f'data: {{"i":{i}}}'.encode()) if shape == "data" else (lambda i: f'event: e{i}\ndata: {{"i":{i}}}'.encode())
    for at in (0, 1, 50, 99):
        events = [one(i) for i in range(100)]
        events.insert(at, odd)
        stream = b"\n\n".join(events) + b"\n\n"
        assert parse(SSEFramer(), stream, []) == parse(ReferenceParser(), stream, [])


def test_one_event_per_read_fast_path() -> None:
    for parser in (SSEParser(), SSEFramer()):
        assert parser.feed(b'data: {"a":1}\n\n') == [(None, '{"a":1}')]
        assert parser.feed(b'event: e\ndata: {"a":1}\n\n') == [("e", '{"a":1}')]
        assert parser.feed(b"data:x\n\n") == [(None, "x")]
        assert parser.feed(b"event: e\n") == []
        assert parser.feed(b"data: y\n\n") == [("e", "y")]  # an event field pending: not the fast path
        assert parser.feed(b"data: a\ndata: b\n\n") == [(None, "a\nb")]
        assert parser.feed(b"data: a\rdata: b\n\n") == [(None, "a\nb")]  # a lone \r ends a line too
        assert parser.feed(b"event: a\revent: b\ndata: c\n\n") == [("b", "c")]
        assert parser.feed(b"event: e\n: note\ndata: z\n\n") == [("e", "z")]


# Events as providers frame them (one per read), and every other kind of event.
EVENT_LINES = st.sampled_from(
    [
        [b'data: {"a":1}'],
        [b"event: content_block_delta", b'data: {"type":"content_block_delta"}'],
        [b"event: ping", b"data: {}"],
        [b"event: e", b"data:  two spaces"],
        [b"event:", b"data:"],
        [b"event: e", b": comment", b"data: x"],
        [b"data: a", b"data: b"],
        [b"event: e", b"data: a", b"data: b"],
        [b"data: [DONE]"],
        ["event: 你\u597d".encode(), "data: 你好".encode()],
        [b"event: e", b"id: 7", b"data: y"],
        [b": keep-alive"],
        [b"event: only"],
        [b"data: a\rdata: b"],
        [b"event: x\rdata: y"],
    ]
)


@st.composite
def event_reads(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """A stream of whole events, cut at every event's end (one read per event), at times also
    inside an event; line ends mostly \n, at times \r\n or \r."""
    stream = b""
    cuts = []
    for lines in draw(st.lists(EVENT_LINES, max_size=30)):
        ending = draw(st.sampled_from([b"\n"] * 6 + [b"\r\n", b"\r"]))
        stream += b"".join(line + ending for line in lines) + ending
        cuts.append(len(stream))
    cuts += draw(st.lists(st.integers(0, len(stream)), max_size=4))
    return stream, sorted(cuts)


@settings(max_examples=600, deadline=None)
@given(event_reads())
def test_framer_one_event_per_read_same_events_as_reference(case: tuple[bytes, list[int]]) -> None:
    stream, cuts = case
    assert parse(SSEFramer(), stream, cuts) == parse(ReferenceParser(), stream, cuts)
    assert parse(SSEParser(), stream, cuts) == parse(ReferenceParser(), stream, cuts)


@pytest.mark.parametrize(
    "data",
    ['{"a":1}', ' {"a": [1, 2.5, null, true]} ', '"text"', "[]", "12", "NaN", '{"a":1} x', '{"a":', "", "  ", '{"a":1}\n', "\ufeff{}"],
)
def test_loads_is_json_loads(data: str) -> None:
    try:
        expected: Any = ("ok", json.loads(data))
    except ValueError as exc:
        expected = ("error", type(exc))
    try:
        got: Any = ("ok", loads(data))
    except ValueError as exc:
        got = ("error", type(exc))
    assert got == expected


# Anthropic-style events (the framer's regex lane when a read holds only these), with the odd
# block of another shape that must leave it.
EVENT_BLOCKS = st.one_of(
    st.builds(
        lambda name, value: f"event: {name}\ndata: {value}".encode(),
        st.sampled_from(["content_block_delta", "", "a: b", " x", "你好"]),
        st.sampled_from(['{"type":"x"}', "", " y", "data: z", "event: q", "你好"]),
    ),
    st.sampled_from(
        [
            b"event: e\ndata: a\ndata: b",
            b"data: a\nevent: e",
            b"event: e",
            b"event:e\ndata: x",
            b"event: e\ndata:x",
            b": comment",
            b"event: e\n: comment\ndata: x",
            b"event: e\nid: 3\ndata: x",
            b"data: plain",
            b"xevent: e\ndata: x",
        ]
    ),
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.one_of(EVENT_BLOCKS.filter(lambda b: b.startswith(b"event: ") and b.count(b"\n") == 1), EVENT_BLOCKS), max_size=40),
    st.sampled_from([1, 5, 64, 1000, 1 << 16]),
    st.lists(st.integers(0, 4000), max_size=3),
)
def test_framer_event_lined_reads_same_events_as_reference(blocks: list[bytes], size: int, extra: list[int]) -> None:
    stream = b"".join(block + b"\n\n" for block in blocks)
    cuts = sorted({*range(size, len(stream), size), *(c for c in extra if c < len(stream))})
    assert parse(SSEFramer(), stream, cuts) == parse(ReferenceParser(), stream, cuts)


def test_framer_event_lined_stream_in_large_pieces() -> None:
    events = [f'event: e{i % 4}\ndata: {{"i":{i},"t":"你好"}}\n\n'.encode() for i in range(500)]
    stream = b"".join(events)
    expected = parse(ReferenceParser(), stream, [])
    assert len(expected) == 500 and expected[7] == ("e3", '{"i":7,"t":"你好"}')
    for size in (5, 333, 4096, 65536, len(stream)):
        assert parse(SSEFramer(), stream, list(range(size, len(stream), size))) == expected
