"""What a call cost, in USD, from the model's prices (the catalogue merged with your settings).

    from vv_llm.pricing import cost
    reply = client.create_completion(messages)
    print(cost(reply, "openai", "gpt-4o").total)        # a ChatCompletionMessage, a Usage or its dict

Prices are USD per million tokens: ``input``, ``cached_input`` (prompt-cache reads; defaults to
``input``), ``cache_write`` (prompt-cache writes; defaults to ``input``) and ``output``.
``Usage.prompt_tokens`` includes cached and cache-written tokens, so the uncached input is
``prompt_tokens - cached_tokens - cache_creation_tokens``. Reasoning tokens are part of
``completion_tokens`` and billed as output. Long-prompt tiers (``tiers``: e.g. Gemini 2.5 Pro
above 200k prompt tokens) price the whole call, as the providers bill them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vv_llm.errors import InvalidRequestError, UnknownModelError

if TYPE_CHECKING:
    from vv_llm.settings.schema import ModelPrices
    from vv_llm.types.enums import BackendType

__all__ = ["Cost", "cost", "cost_from_prices", "prices_for"]

_PER = 1_000_000


@dataclass(frozen=True)
class Cost:
    """A call's cost in USD, by kind of token."""

    input: float
    """Uncached input tokens."""
    cached: float
    """Input tokens read from the provider's prompt cache."""
    cache_write: float
    """Input tokens written to the provider's prompt cache."""
    output: float
    """Output tokens, reasoning included."""
    total: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", self.input + self.cached + self.cache_write + self.output)

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.input + other.input, self.cached + other.cached, self.cache_write + other.cache_write, self.output + other.output)


def prices_for(backend: BackendType | str, model: str | None = None) -> ModelPrices | None:
    """The model's prices: its settings over the catalogue's (None when neither gives any).

    Works for models with no endpoint configured. Raises
    :class:`~vv_llm.errors.UnknownModelError` for a model neither settings nor the catalogue know.
    """
    from vv_llm.settings import settings
    from vv_llm.settings.schema import ModelPrices
    from vv_llm.utilities.tokens.models import model_setting

    name = model or settings.default_model(backend)
    setting = model_setting(backend, name)
    if setting is None:
        raise UnknownModelError(f"unknown model {name!r} for backend {str(backend)!r}; give its prices in settings")
    prices = setting.get("prices")
    if prices is None:
        return None
    return prices if isinstance(prices, ModelPrices) else ModelPrices.model_validate(prices)


def cost(usage: Any, backend: BackendType | str, model: str | None = None) -> Cost | None:
    """The cost of ``usage`` — a ``Usage``, its dict, or a ``ChatCompletionMessage`` (its ``usage``)
    — at ``backend``/``model``'s prices; None when the model has no prices or the reply no usage.

    ``model`` defaults to the backend's default model. Raises
    :class:`~vv_llm.errors.UnknownModelError` for a model that is not configured.
    """
    prices = prices_for(backend, model)
    if prices is None:
        return None
    return cost_from_prices(usage, prices)


def cost_from_prices(usage: Any, prices: ModelPrices | Mapping[str, Any]) -> Cost | None:
    """The cost of ``usage`` at ``prices`` (a ``ModelPrices`` or a dict with its fields)."""
    tokens = _tokens(usage)
    if tokens is None:
        return None
    prompt, cached, written, completion = tokens
    prices, where = _tier(prices, prompt)
    input_price = _price(prices, where, "input")
    output_price = _price(prices, where, "output")
    cached_price = _price(prices, where, "cached_input", input_price)
    write_price = _price(prices, where, "cache_write", input_price)
    fresh = max(0, prompt - cached - written)
    return Cost(
        input=fresh * input_price / _PER,
        cached=cached * cached_price / _PER,
        cache_write=written * write_price / _PER,
        output=completion * output_price / _PER,
    )


def _tokens(usage: Any) -> tuple[int, int, int, int] | None:
    if usage is not None and not isinstance(usage, Mapping) and hasattr(usage, "content") and hasattr(usage, "usage"):
        usage = usage.usage  # a ChatCompletionMessage
    if usage is None:
        return None
    values = []
    for name in ("prompt_tokens", "cached_tokens", "cache_creation_tokens", "completion_tokens"):
        value = usage.get(name, 0) if isinstance(usage, Mapping) else getattr(usage, name, 0)
        value = 0 if value is None else value
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidRequestError(f"usage.{name} must be a whole number >= 0 (got {value!r})")
        values.append(value)
    prompt, cached, written, completion = values
    return prompt, cached, written, completion


def _tier(prices: Any, prompt_tokens: int) -> tuple[Any, str]:
    """The prices for a prompt this long: the highest tier it is above, else the base prices."""
    tiers = (prices.get("tiers") if isinstance(prices, Mapping) else getattr(prices, "tiers", None)) or ()
    chosen, where = prices, "prices"
    highest = -1
    for index, tier in enumerate(tiers):
        above = tier.get("above_prompt_tokens") if isinstance(tier, Mapping) else getattr(tier, "above_prompt_tokens", None)
        if not isinstance(above, int) or isinstance(above, bool) or above < 0:
            raise InvalidRequestError(f"prices.tiers[{index}].above_prompt_tokens must be a whole number >= 0 (got {above!r})")
        if highest < above < prompt_tokens:
            chosen, where, highest = tier, f"prices.tiers[{index}]", above
    return chosen, where


def _price(prices: Any, where: str, name: str, default: float | None = None) -> float:
    value = prices.get(name) if isinstance(prices, Mapping) else getattr(prices, name, None)
    if value is None:
        if default is None:
            raise InvalidRequestError(f"{where}.{name} is required")
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise InvalidRequestError(f"{where}.{name} must be a number >= 0 (got {value!r})")
    return float(value)
