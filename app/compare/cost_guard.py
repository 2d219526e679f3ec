"""What a matrix run may cost before anything is sent, and whether it fits the budget.

Prompt tokens are counted with vv-llm's own counters (exact where the tokenizer ships, estimated
otherwise); the output is bounded by ``max_tokens`` (else the model's max output) and every call is
priced with ``vv_llm.pricing`` — one call at a time, so long-prompt price tiers apply as billed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vv_llm.errors import VVLLMError


@dataclass
class ModelEstimate:
    backend: str
    model: str
    calls: int = 0
    prompt_tokens: int = 0
    max_output_tokens: int | None = 0
    """Output tokens at most, over every call (None: no bound — neither max_tokens nor the model's max output is known)."""
    input_cost: float | None = 0.0
    upper_cost: float | None = 0.0
    """Input plus the most output the calls may produce, in USD (None: no prices or no bound)."""
    exact_tokens: bool = True
    problem: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.backend}/{self.model}"


@dataclass
class CostEstimate:
    models: list[ModelEstimate] = field(default_factory=list)

    @property
    def input_cost(self) -> float | None:
        costs = [m.input_cost for m in self.models]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)

    @property
    def upper_cost(self) -> float | None:
        """The most the run may cost (None when a model has no price or no output bound)."""
        costs = [m.upper_cost for m in self.models]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)

    @property
    def known_upper_cost(self) -> float:
        return sum(m.upper_cost or 0.0 for m in self.models)

    @property
    def unknown(self) -> list[str]:
        """Models whose upper bound could not be priced."""
        return [m.ref for m in self.models if m.upper_cost is None]

    def over_budget(self, budget: float | None) -> bool:
        """True when the upper bound exceeds ``budget`` — or cannot be known while a budget is set."""
        if budget is None:
            return False
        upper = self.upper_cost
        return upper is None or upper > budget


def output_bound(backend: str, model: str, max_tokens: int | None) -> int | None:
    """The most output tokens one call may produce: ``max_tokens`` clamped to the model's max output."""
    from vv_llm.utilities.tokens.models import model_setting

    setting = model_setting(backend, model) or {}
    limit = setting.get("max_output_tokens")
    if max_tokens:
        return min(int(max_tokens), int(limit)) if limit else int(max_tokens)
    return int(limit) if limit else None


def estimate_model(
    backend: str,
    model: str,
    conversations: Sequence[list[dict[str, Any]]],
    max_tokens: int | None,
    counted: dict[Any, list[int]] | None = None,
) -> ModelEstimate:
    """The estimate for one model answering every conversation once.

    ``counted`` shares prompt counts between models that count tokens the same way (same tokenizer,
    message rules and scale): pass one dict for every model of a run.
    """
    from vv_llm.pricing import cost_from_prices, prices_for
    from vv_llm.utilities.tokens import describe_tokenizer, get_message_token_counts

    result = ModelEstimate(backend, model, calls=len(conversations))
    bound = output_bound(backend, model, max_tokens)
    try:
        info = describe_tokenizer(model, backend)
        result.exact_tokens = bool(info.exact)
        key = (info.tokenizer, info.family, info.scale, id(conversations))
        counts = counted.get(key) if counted is not None else None
        if counts is None:
            counts = [get_message_token_counts(messages, None, model, backend) for messages in conversations]
            if counted is not None:
                counted[key] = counts
    except Exception as exc:  # a tokenizer that cannot load: say so rather than guess
        result.problem = f"cannot count tokens: {type(exc).__name__}"
        result.prompt_tokens, result.input_cost, result.upper_cost, result.max_output_tokens = 0, None, None, bound
        return result
    result.prompt_tokens = sum(counts)
    result.max_output_tokens = None if bound is None else bound * len(counts)
    input_total = upper_total = 0.0
    try:
        prices = prices_for(backend, model)
        if prices is None:
            result.problem = "no prices for this model (add them on Endpoints & models)"
            result.input_cost = result.upper_cost = None
            return result
        for prompt in counts:  # call by call: a long prompt may fall in a dearer price tier
            priced_in = cost_from_prices({"prompt_tokens": prompt, "completion_tokens": 0}, prices)
            input_total += priced_in.total if priced_in is not None else 0.0
            if bound is not None:
                priced = cost_from_prices({"prompt_tokens": prompt, "completion_tokens": bound}, prices)
                upper_total += priced.total if priced is not None else 0.0
    except (VVLLMError, ValueError) as exc:
        result.problem = f"cannot price: {exc}"
        result.input_cost = result.upper_cost = None
        return result
    result.input_cost = input_total
    if bound is None:
        result.upper_cost = None
        result.problem = "no output bound: set Max output tokens"
    else:
        result.upper_cost = upper_total
    return result


def estimate_run(models: Sequence[tuple[str, str]], conversations: Sequence[list[dict[str, Any]]], max_tokens: int | None) -> CostEstimate:
    """The estimate for every model answering every conversation."""
    return CostEstimate([estimate_model(backend, model, conversations, max_tokens) for backend, model in models])
