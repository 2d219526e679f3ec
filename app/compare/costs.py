"""What a call cost, in USD, through the engine's pricing (settings, else genai-prices, else the catalogue)."""

from __future__ import annotations

from typing import Any

from vv_llm.errors import VVLLMError
from vv_llm.pricing import Cost, cost


def priced(backend: str, model: str, usage: Any) -> Cost | None:
    """The cost of one call with ``usage`` (a ``Usage`` or its dict), with where its prices came
    from; None when the model has no prices."""
    if usage is None:
        return None
    try:
        return cost(usage, backend, model)
    except (VVLLMError, ValueError):
        return None


def cost_usd(backend: str, model: str, usage: Any) -> float | None:
    """Cost of one call with ``usage`` (a ``Usage`` or its dict); None when the model has no prices."""
    result = priced(backend, model, usage)
    return result.total if result is not None else None
