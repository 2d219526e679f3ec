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

Where prices come from, first match wins (``pricing_for`` says which, ``Cost.source`` too):

1. ``prices`` you give the model in settings;
2. ``genai-prices`` (pydantic's maintained price data, its offline snapshot) when it knows the model;
3. the built-in catalogue, only for models genai-prices lacks (Qwen, GLM, Yi, Baichuan, StepFun,
   ERNIE, MiniMax-Text…), each with the source URL and the date it was checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from vv_llm.errors import InvalidRequestError, UnknownModelError
from vv_llm.pricing_genai import genai_model_prices, genai_prices_version
from vv_llm.settings import settings
from vv_llm.types.enums import BackendType
from vv_llm.utilities.tokens.models import model_setting

if TYPE_CHECKING:
    from vv_llm.settings.schema import ModelPrices

__all__ = ["Cost", "ModelPricing", "PriceSource", "cost", "cost_from_prices", "prices_for", "pricing_for"]

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
    source: PriceSource | None = field(default=None, compare=False)
    """Where the prices came from (None for ``cost_from_prices``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", self.input + self.cached + self.cache_write + self.output)

    def __add__(self, other: Cost) -> Cost:
        source = self.source if self.source == other.source else None
        return Cost(
            self.input + other.input, self.cached + other.cached, self.cache_write + other.cache_write, self.output + other.output, source
        )


@dataclass(frozen=True)
class PriceSource:
    """Where a model's prices came from."""

    kind: Literal["settings", "genai-prices", "catalogue"]
    label: str
    """Short, for display: ``your settings``, ``genai-prices 0.2.3``, ``vv-llm catalogue (checked 2026-11-25)``."""
    url: str | None = None
    """The provider's price page the figures were taken from."""
    checked: str | None = None
    """ISO date the figures were last checked (catalogue entries)."""


@dataclass(frozen=True)
class ModelPricing:
    """A model's prices and where they came from."""

    prices: ModelPrices
    source: PriceSource


def pricing_for(backend: BackendType | str, model: str | None = None) -> ModelPricing | None:
    """The model's prices and where they came from: settings, else genai-prices, else the catalogue
    (None when none of them prices it).

    Works for models with no endpoint configured. Raises
    :class:`~vv_llm.errors.UnknownModelError` for a model neither settings nor the catalogue know.
    """
    from vv_llm.settings.schema import ModelPrices

    name = model or settings.default_model(backend)
    setting = model_setting(backend, name)
    if setting is None:
        raise UnknownModelError(f"unknown model {name!r} for backend {str(backend)!r}; give its prices in settings")
    key = BackendType.parse(backend).value
    configured = settings.model.backends.get(key)
    user = configured.models.get(name) if configured else None
    if user is not None and user.prices is not None:
        return ModelPricing(user.prices, PriceSource("settings", "your settings"))
    genai = genai_model_prices(key, setting.get("id") or name)
    if genai is not None:
        figures, provider, _model = genai
        url = (provider.pricing_urls or [None])[0]
        return ModelPricing(ModelPrices.model_validate(figures), PriceSource("genai-prices", f"genai-prices {genai_prices_version()}", url))
    prices = setting.get("prices")
    if prices is None:
        return None
    origin = setting.get("price_source") or {}
    checked = origin.get("checked")
    label = f"vv-llm catalogue (checked {checked})" if checked else "vv-llm catalogue"
    validated = prices if isinstance(prices, ModelPrices) else ModelPrices.model_validate(prices)
    return ModelPricing(validated, PriceSource("catalogue", label, origin.get("url"), checked))


def prices_for(backend: BackendType | str, model: str | None = None) -> ModelPrices | None:
    """The model's prices: settings, else genai-prices, else the catalogue (None when none gives any).

    Works for models with no endpoint configured. Raises
    :class:`~vv_llm.errors.UnknownModelError` for a model neither settings nor the catalogue know.
    """
    pricing = pricing_for(backend, model)
    return pricing.prices if pricing is not None else None


def cost(usage: Any, backend: BackendType | str, model: str | None = None) -> Cost | None:
    """The cost of ``usage`` — a ``Usage``, its dict, or a ``ChatCompletionMessage`` (its ``usage``)
    — at ``backend``/``model``'s prices; None when the model has no prices or the reply no usage.
    ``Cost.source`` says where the prices came from.

    ``model`` defaults to the backend's default model. Raises
    :class:`~vv_llm.errors.UnknownModelError` for a model that is not configured.
    """
    pricing = pricing_for(backend, model)
    if pricing is None:
        return None
    priced = cost_from_prices(usage, pricing.prices)
    return None if priced is None else replace(priced, source=pricing.source)


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
