"""A long JSON string kept as the UTF-8 bytes of the request body and decoded a piece at a time.

A ``str`` takes 1, 2 or 4 bytes for every character, by its widest one: a text of ASCII with one
emoji in it is held at 4 bytes a character, four times its UTF-8. The longest string of a token
count request (its ``text``, or a message's content, where the route allows) is therefore never
built whole: the rest of the document is parsed by ``json.loads`` with a placeholder in the
text's place, and the text itself is checked and later counted in pieces of
about ``PIECE_BYTES``, each decoded as ``json.loads`` decodes it (escapes, surrogate pairs, lone
surrogates), cut only where no escape or UTF-8 sequence can be split. Any body this does not fit
(not UTF-8, no long text, invalid JSON anywhere) is parsed whole as before, so errors are the same.
Only the longest string is kept so: a request with several long texts holds the others as ``str``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

from vv_llm.utilities.tokens.counters import PiecedText

Path = tuple[str | type[int], ...]
"""Where a long text may be: keys, and ``int`` for any index of a list."""

LONG_TEXT_BYTES = 1 << 16
"""A text field this long (in bytes of JSON) or longer is kept as a :class:`JsonText`."""
PIECE_BYTES = 1 << 16
"""About how many bytes of the JSON string are decoded at a time."""
_MOST_STRINGS = 64
"""A text request has a handful of strings; a body with more is parsed the usual way."""

_SAFE_CUT = re.compile(rb"[ !#-.:-@\[\]-`{-~\xc0-\xff]")
"""Bytes a JSON string can be cut before: ASCII that no escape contains (not ``"``, ``\\``, ``/``,
digits or letters) and the first bytes of UTF-8 sequences."""


class JsonText(PiecedText):
    """A JSON string of a request body, held as its bytes (the body's own buffer, not a copy)."""

    __slots__ = ("_body", "_spans", "chars")

    def __init__(self, body: bytearray, spans: list[tuple[int, int]], chars: int):
        self._body = body
        self._spans = spans
        self.chars = chars
        """The text's length in characters, as ``len`` of the decoded ``str``."""

    def __len__(self) -> int:
        return self.chars

    def pieces(self) -> Iterator[str]:
        """The text, a piece at a time (joined, they are the string ``json.loads`` gives)."""
        for start, end in self._spans:
            yield _decode(self._body, start, end)

    def __str__(self) -> str:
        return "".join(self.pieces())

    def __repr__(self) -> str:
        return f"JsonText({self.chars} characters)"


def parse_with_text(body: bytearray, paths: tuple[Path, ...]) -> dict[str, Any] | None:
    """``json.loads(body)`` with its longest string, when it is long and at one of ``paths``, as a
    :class:`JsonText`; None when the body is not such a document (parse it the usual way)."""
    if len(body) < LONG_TEXT_BYTES or json.detect_encoding(body) != "utf-8":
        return None
    longest: tuple[int, int] | None = None
    for number, found in enumerate(_strings(body)):
        if number == _MOST_STRINGS:
            return None
        if longest is None or found[1] - found[0] > longest[1] - longest[0]:
            longest = found
    if longest is None or longest[1] - longest[0] < LONG_TEXT_BYTES:
        return None
    opening, closing = longest[0], longest[1] - 1  # the quotes
    placeholder = f"vv-llm-text-{secrets.token_hex(16)}"
    if placeholder.encode() in body:
        return None
    try:
        envelope = body[: opening + 1].decode("utf-8", "surrogatepass") + placeholder + body[closing:].decode("utf-8", "surrogatepass")
        document = json.loads(envelope)
    except (ValueError, RecursionError):
        return None
    where = _path_to(document, placeholder) if type(document) is dict else None
    if where is None or not any(_matches(where, path) for path in paths):
        return None
    spans: list[tuple[int, int]] = []
    chars = 0
    start = opening + 1
    try:
        while start < closing:
            end = closing
            if closing - start > PIECE_BYTES:
                cut = _SAFE_CUT.search(body, start + PIECE_BYTES, closing)
                if cut is not None:
                    end = cut.start()
            chars += len(_decode(body, start, end))  # checked now: an invalid text is parsed whole, for its error
            spans.append((start, end))
            start = end
    except ValueError:
        return None
    parent: Any = document
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = JsonText(body, spans, chars)
    return document


def _path_to(value: Any, placeholder: str) -> tuple[str | int, ...] | None:
    """The keys and indexes leading to the string ``placeholder`` in a parsed document."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for step, item in items:
        if item == placeholder:
            return (step,)
        found = _path_to(item, placeholder)
        if found is not None:
            return (step, *found)
    return None


def _matches(where: tuple[str | int, ...], path: Path) -> bool:
    return len(where) == len(path) and all(
        isinstance(step, int) if expected is int else step == expected for step, expected in zip(where, path, strict=True)
    )


def _strings(body: bytearray) -> Iterator[tuple[int, int]]:
    """Where each string literal of a JSON document is, in order: from its opening quote to just
    after its closing one (a quote after an odd number of backslashes is escaped). Its content is
    checked when decoded. No regular expression: one would keep state for every escape."""
    opening = body.find(b'"')
    while opening >= 0:
        closing = body.find(b'"', opening + 1)
        while closing >= 0 and _escaped(body, closing):
            closing = body.find(b'"', closing + 1)
        if closing < 0:
            return
        yield opening, closing + 1
        opening = body.find(b'"', closing + 1)


def _escaped(body: bytearray, quote: int) -> bool:
    before = quote
    while body[before - 1] == 0x5C:  # stops at the opening quote at the latest
        before -= 1
    return (quote - before) % 2 == 1


def _decode(body: bytearray, start: int, end: int) -> str:
    """``body[start:end]``, the inside of a JSON string (or a piece of it), decoded as ``json.loads`` does."""
    text = json.loads('"' + body[start:end].decode("utf-8", "surrogatepass") + '"')
    if not isinstance(text, str):  # cannot be: the piece has no unescaped quote
        raise ValueError("not a JSON string")
    return text


def materialized(value: Any) -> Any:
    """``value`` with every :class:`JsonText` in it (in dicts and lists) made a ``str``."""
    if isinstance(value, JsonText):
        return str(value)
    if isinstance(value, dict):
        return {key: materialized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [materialized(item) for item in value]
    return value
