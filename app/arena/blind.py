"""Blind mode: a shuffled seating of the columns, "Model A/B/…" labels, and answers with every
trace of the models' identities masked until the user has voted.

Pure logic (no Streamlit): the Compare page draws what ``masked_state`` returns, so a name that is
not in the returned state cannot reach the page source.
"""

from __future__ import annotations

import copy
import random
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.compare.runner import ColumnState

MASK_MODEL = "the model"


def label(slot: int) -> str:
    """``Model A`` for slot 0, ``Model B`` for slot 1, …"""
    return f"Model {string.ascii_uppercase[slot]}"


def short_label(slot: int) -> str:
    return string.ascii_uppercase[slot]


@dataclass
class Seating:
    """Where each column sits on screen: ``order[slot]`` is the column shown in that slot."""

    order: list[int]
    revealed: bool = False
    names: list[str] = field(default_factory=list)
    """Each column's model name (by column index), to mask in text."""

    def slot_of(self, column: int) -> int:
        return self.order.index(column)

    def label_of(self, column: int) -> str:
        return label(self.slot_of(column))

    def masks(self) -> dict[str, str]:
        """Name → what to show instead, for every hidden model (its own label)."""
        masks: dict[str, str] = {}
        for column, name in enumerate(self.names):
            if name:
                masks.setdefault(name, self.label_of(column))
        return masks


def seat(names: Sequence[str], seed: str) -> Seating:
    """A shuffled seating of ``names`` (column order), the same for the same ``seed``."""
    order = list(range(len(names)))
    random.Random(seed).shuffle(order)
    return Seating(order=order, names=list(names))


def _pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    variants = sorted({n for name in names if name for n in _variants(name)}, key=len, reverse=True)
    if not variants:
        return None
    return re.compile("|".join(re.escape(v) for v in variants), re.IGNORECASE)


def _variants(name: str) -> set[str]:
    """A model's name as text may spell it: ``demo-fast``, ``demo fast``, ``demo_fast``."""
    base = name.rsplit("/", 1)[-1]
    return {name, base, base.replace("-", " "), base.replace("-", "_"), base.replace("_", "-")} - {""}


def mask_text(text: str | None, masks: dict[str, str]) -> str | None:
    """``text`` with every spelling of a hidden model's name replaced by its label (case-insensitive)."""
    if not text or not masks:
        return text
    lookup: dict[str, str] = {}
    for name, shown in masks.items():
        for variant in _variants(name):
            lookup.setdefault(variant.lower(), shown)
    pattern = _pattern(masks)
    assert pattern is not None
    return pattern.sub(lambda m: lookup.get(m.group(0).lower(), MASK_MODEL), text)


def _mask_value(value: Any, masks: dict[str, str]) -> Any:
    if isinstance(value, str):
        return mask_text(value, masks)
    if isinstance(value, list):
        return [_mask_value(v, masks) for v in value]
    if isinstance(value, dict):
        return {k: _mask_value(v, masks) for k, v in value.items()}
    return value


def masked_messages(messages: Sequence[dict[str, Any]], masks: dict[str, str]) -> list[dict[str, Any]]:
    """Messages with the hidden names masked in every text (image data URLs are left alone)."""
    out = []
    for message in messages:
        masked = dict(message)
        content = message.get("content")
        if isinstance(content, str):
            masked["content"] = mask_text(content, masks)
        elif isinstance(content, list):
            masked["content"] = [
                _mask_value(part, masks) if isinstance(part, dict) and part.get("type") == "text" else part for part in content
            ]
        out.append(masked)
    return out


def masked_state(state: ColumnState, shown_as: str, masks: dict[str, str]) -> ColumnState:
    """What a blind column may show: its label for a name, no backend, endpoint, request report, usage or cost,
    and the hidden names masked in its answer, reasoning, tool calls and error."""
    hidden = copy.deepcopy(state)
    hidden.model = shown_as
    hidden.backend = ""
    hidden.endpoint_id = None
    hidden.usage = None
    hidden.cost = None
    hidden.content = mask_text(state.content, masks) or ""
    hidden.reasoning = mask_text(state.reasoning, masks) or ""
    hidden.tool_calls = _mask_value(state.tool_calls, masks)
    hidden.error_type = mask_text(state.error_type, masks)
    hidden.error_message = mask_text(state.error_message, masks)
    hidden.reply = None
    hidden.request_report = None  # names the endpoint and model id sent
    return hidden
