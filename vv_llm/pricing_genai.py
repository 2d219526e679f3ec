"""Prices from ``genai-prices`` (pydantic's maintained price data), read from the snapshot in its wheel.

Only the bundled snapshot is read — its ``UpdatePrices`` fetcher is never started, so pricing
never touches the network. ``genai_prices`` takes over a second to import, so it is imported on
the first price asked of it, not with ``vv_llm``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "deepseek": "deepseek",
    "gemini": "google",
    "groq": "groq",
    "mistral": "mistral",
    "moonshot": "moonshotai",
    "minimax": "minimax",
    "zhipuai": "zhipuai",
    "xai": "x-ai",
}
"""Our backends → genai-prices provider ids (Qwen, Yi, Baichuan, StepFun and ERNIE it does not have)."""

_KEYS = {"input": "input_mtok", "cached_input": "cache_read_mtok", "cache_write": "cache_write_mtok", "output": "output_mtok"}


def genai_prices_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


@lru_cache(maxsize=512)
def find_model(backend: str, model_id: str) -> tuple[Any, Any] | None:
    """genai-prices' ``(provider, model)`` for our backend's model id; None when it does not know it."""
    provider_id = PROVIDERS.get(backend)
    if provider_id is None:
        return None
    from genai_prices import data_snapshot

    try:
        return data_snapshot.get_snapshot().find_provider_model(model_id, None, provider_id, None)
    except LookupError:
        return None


def genai_model_prices(backend: str, model_id: str, when: datetime | None = None) -> tuple[dict[str, Any], Any, Any] | None:
    """The model's current text prices as a ``ModelPrices`` dict (USD per million tokens, with
    long-prompt ``tiers``), with genai-prices' provider and model; None when it lacks the model or its text prices."""
    found = find_model(backend, model_id)
    if found is None:
        return None
    provider, model = found
    price = model.get_prices(when or datetime.now(UTC))
    values = {ours: getattr(price, theirs, None) for ours, theirs in _KEYS.items()}
    if values["input"] is None or values["output"] is None:
        return None
    return _with_tiers(values), provider, model


def _with_tiers(values: dict[str, Any]) -> dict[str, Any]:
    """genai-prices tiers each price on its own; ours are one set of prices per prompt-length threshold."""
    thresholds = sorted({tier.start for value in values.values() if hasattr(value, "tiers") for tier in value.tiers})

    def at(value: Any, threshold: int | None) -> float | None:
        if value is None:
            return None
        if not hasattr(value, "tiers"):
            return float(value) if isinstance(value, Decimal) else value
        price = value.base
        for tier in sorted(value.tiers, key=lambda t: t.start):
            if threshold is not None and tier.start <= threshold:
                price = tier.price
        return float(price)

    prices: dict[str, Any] = {key: at(value, None) for key, value in values.items() if value is not None}
    tiers = []
    for threshold in thresholds:
        tier = {key: at(value, threshold) for key, value in values.items() if value is not None}
        tiers.append({"above_prompt_tokens": threshold, **tier})
    if tiers:
        prices["tiers"] = tiers
    return prices
