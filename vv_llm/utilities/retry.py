"""When to try again, and how long to wait first — tenacity's wait and stop strategies, driven
from inside a call plan (a generator of effects, so tenacity's decorator cannot wrap it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vv_llm.errors import ProviderError


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts attempts that follow a backoff sleep (1 = never retry); failing over
    to an endpoint not yet tried in the call is immediate and not counted."""

    max_attempts: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 20.0

    def start(self, deadline: float | None = None) -> Retries:
        """Bookkeeping for one call, from its first failure on (nothing is built on the happy path)."""
        return Retries(self, deadline)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); ``Retry-After`` wins."""
        if retry_after is not None:
            return retry_after
        retries = Retries(self, None)
        retries.state.attempt_number = attempt
        return float(retries.wait(retries.state))


class Retries:
    """One call's retries on tenacity's ``RetryCallState``: equal-jitter exponential backoff
    (a wait in [c/2, c], c = initial · 2^(n-1) capped at ``backoff_max``), or the provider's
    ``Retry-After``; stops after ``max_attempts`` or when the wait would pass the deadline."""

    def __init__(self, policy: RetryPolicy, deadline: float | None):
        from tenacity import RetryCallState, stop_after_attempt, stop_before_delay, wait_exponential, wait_random_exponential

        self.policy = policy
        half_initial, half_max = policy.backoff_initial / 2, policy.backoff_max / 2
        self.wait: Any = wait_exponential(multiplier=half_initial, max=half_max) + wait_random_exponential(
            multiplier=half_initial, max=half_max
        )
        self.state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        self.stop: Any = stop_after_attempt(policy.max_attempts)
        if deadline is not None:
            self.stop = self.stop | stop_before_delay(deadline - self.state.start_time)

    def next_delay(self, error: ProviderError, at_least: float = 0.0) -> float | None:
        """Seconds to sleep before retrying after ``error`` (at least ``at_least``, e.g. what is
        left of the next endpoint's own Retry-After); None when the call must give up."""
        state = self.state
        state.set_exception((type(error), error, None))
        retry_after = error.retry_after
        if at_least > 0:
            retry_after = max(retry_after or 0.0, at_least)
        if retry_after is not None and retry_after > self.policy.backoff_max:
            return None  # the provider asks for a longer pause than we are configured to wait
        state.upcoming_sleep = retry_after if retry_after is not None else float(self.wait(state))
        if self.stop(state):
            return None
        delay = state.upcoming_sleep
        state.prepare_for_next_attempt()
        return delay

    @property
    def attempts(self) -> int:
        return self.state.attempt_number
