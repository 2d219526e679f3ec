"""Split ``<think>…</think>`` reasoning that some models inline in their content."""

from __future__ import annotations

OPEN = "<think>"
CLOSE = "</think>"


def split_think(text: str) -> tuple[str | None, str]:
    """``(reasoning, content)`` of a complete text; reasoning is None when there is no think block."""
    stripped = text.lstrip()
    if not stripped.startswith(OPEN):
        return None, text
    end = stripped.find(CLOSE)
    if end < 0:
        return stripped[len(OPEN) :], ""
    return stripped[len(OPEN) : end], stripped[end + len(CLOSE) :].lstrip("\n")


_MAX_LEADING_SPACE = 1024
"""Whitespace held back before a possible ``<think>``; past this the answer is plain content."""


class ThinkTagSplitter:
    """Streaming version: feed content pieces, get ``(reasoning, content)`` pieces.

    Tags may be cut anywhere across chunks; a possible partial tag is held back until the next
    piece decides it. Only a think block at the very start of the content counts.
    """

    __slots__ = ("_pending", "_seen_content", "_state")

    def __init__(self) -> None:
        self._state = "start"  # start → (thinking → after →) content
        self._pending = ""
        self._seen_content = False

    @property
    def settled(self) -> bool:
        """Past any think block: from here on ``feed(piece)`` is ``("", piece)``."""
        return self._state == "content"

    def feed(self, piece: str) -> tuple[str, str]:
        if self._state == "content":
            return "", piece
        if self._state == "after":
            # Blank lines between </think> and the answer may arrive in later chunks.
            piece = piece.lstrip("\n")
            if piece:
                self._state = "content"
            return "", piece
        text = self._pending + piece
        self._pending = ""
        if self._state == "start":
            stripped = text.lstrip()
            if not stripped:
                if len(text) > _MAX_LEADING_SPACE:  # not a <think> preamble: stop holding (and re-joining) it
                    self._state = "content"
                    return "", text
                self._pending = text
                return "", ""
            if stripped.startswith(OPEN):
                self._state = "thinking"
                text = stripped[len(OPEN) :]
            elif OPEN.startswith(stripped):
                self._pending = text
                return "", ""
            else:
                self._state = "content"
                return "", text
        # thinking
        end = text.find(CLOSE)
        if end >= 0:
            rest = text[end + len(CLOSE) :].lstrip("\n")
            self._state = "content" if rest else "after"
            return text[:end], rest
        # hold back a suffix that could be the start of </think>
        for keep in range(min(len(CLOSE) - 1, len(text)), 0, -1):
            if CLOSE.startswith(text[-keep:]):
                self._pending = text[-keep:]
                return text[:-keep], ""
        return text, ""

    def flush(self) -> tuple[str, str]:
        pending, self._pending = self._pending, ""
        if self._state == "thinking":
            return pending, ""
        return "", pending
