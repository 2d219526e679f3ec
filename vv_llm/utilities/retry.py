"""When to try again, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 20.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        The provider's ``Retry-After`` wins when given; otherwise exponential backoff with full jitter.
        """
        if retry_after is not None:
            return min(retry_after, max(self.backoff_max, retry_after))
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)
