"""Turn pydantic validation errors into field paths a user would write."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def field_path(loc: Iterable[Any], prefix: str = "") -> str:
    """``('backends', 'openai', 'models', 'gpt-4o', 'endpoints', 0)`` → ``backends.openai.models.gpt-4o.endpoints[0]``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


_REPHRASE = {
    "extra_forbidden": "unknown field",
    "missing": "required field is missing",
}


def pydantic_errors(exc: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``(path, message)`` pairs for a ``pydantic.ValidationError``; never echoes the input value."""
    pairs = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = [p for p in error["loc"] if p not in ("function-after", "function-before")]
        message = _REPHRASE.get(error["type"], error["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        pairs.append((field_path(loc, prefix), message))
    return pairs
