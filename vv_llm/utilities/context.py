"""Context-length control: fit messages into the model's window."""

from __future__ import annotations

from typing import Any


def fit_context(
    messages: list[dict[str, Any]], resolved: Any, max_tokens: int | None, tools: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """``(messages to send, messages dropped or None)``."""
    return messages, None
