"""What a call cost, in USD, from the model's prices in settings (USD per 1M tokens)."""

from __future__ import annotations

from typing import Any

from vv_llm.errors import VVLLMError
from vv_llm.settings import settings


def _get(usage: Any, name: str) -> int:
    value = usage.get(name) if isinstance(usage, dict) else getattr(usage, name, 0)
    return int(value or 0)


def cost_usd(backend: str, model: str, usage: Any) -> float | None:
    """Cost of one call with ``usage`` (a ``Usage`` or its dict); None when the model has no prices.

    ``prompt_tokens`` includes cached and cache-write tokens; each part is charged at its own
    price (falling back to the input price when the model lists none).
    """
    if usage is None:
        return None
    try:
        prices = settings.resolve(backend, model).setting.prices
    except (VVLLMError, ValueError):
        return None
    if prices is None:
        return None
    prompt = _get(usage, "prompt_tokens")
    cached = _get(usage, "cached_tokens")
    written = _get(usage, "cache_creation_tokens")
    fresh = max(0, prompt - cached - written)
    cached_price = prices.cached_input if prices.cached_input is not None else prices.input
    write_price = prices.cache_write if prices.cache_write is not None else prices.input
    total = fresh * prices.input + cached * cached_price + written * write_price + _get(usage, "completion_tokens") * prices.output
    return total / 1_000_000
