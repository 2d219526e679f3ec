"""What a call cost, in USD, through the engine's pricing (the model's prices in settings)."""

from __future__ import annotations

from typing import Any

from vv_llm.errors import VVLLMError
from vv_llm.pricing import cost


def cost_usd(backend: str, model: str, usage: Any) -> float | None:
    """Cost of one call with ``usage`` (a ``Usage`` or its dict); None when the model has no prices."""
    if usage is None:
        return None
    try:
        priced = cost(usage, backend, model)
    except (VVLLMError, ValueError):
        return None
    return priced.total if priced is not None else None
