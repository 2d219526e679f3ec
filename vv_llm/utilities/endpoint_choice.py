"""Choosing among a model's endpoints: priority, weight, and cooling down the ones that failed."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vv_llm.settings.store import ResolvedEndpoint


class Cooldowns:
    """Process-wide record of endpoints that failed recently."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def mark(self, endpoint_id: str, seconds: float) -> None:
        """Avoid ``endpoint_id`` for ``seconds`` (a longer cooldown already running is kept)."""
        if seconds <= 0:
            return
        with self._lock:
            until = time.monotonic() + seconds
            if until > self._until.get(endpoint_id, 0.0):
                self._until[endpoint_id] = until

    def clear(self, endpoint_id: str | None = None) -> None:
        with self._lock:
            if endpoint_id is None:
                self._until.clear()
            else:
                self._until.pop(endpoint_id, None)

    def recovered(self, endpoint_id: str) -> None:
        """The endpoint answered: stop avoiding it (free when nothing is cooling)."""
        if self._until and endpoint_id in self._until:
            with self._lock:
                self._until.pop(endpoint_id, None)

    def any(self) -> bool:
        """Whether any endpoint was marked (cheap test before filtering)."""
        return bool(self._until)

    def cooling(self, endpoint_id: str) -> bool:
        until = self._until.get(endpoint_id)
        return until is not None and until > time.monotonic()


cooldowns = Cooldowns()


def choose_endpoint(
    endpoints: Sequence[ResolvedEndpoint],
    avoid: Collection[str] = (),
    rng: random.Random | None = None,
) -> ResolvedEndpoint:
    """Pick an endpoint: not failed in this call, not cooling down, lowest priority, random by weight.

    Falls back to cooling, then to already-failed endpoints, so a call always has somewhere to go.
    """
    if len(endpoints) == 1:
        return endpoints[0]
    fresh = [e for e in endpoints if e.id not in avoid] if avoid else list(endpoints)
    pool = fresh or list(endpoints)
    if cooldowns.any():
        pool = [e for e in pool if not cooldowns.cooling(e.id)] or pool
    best = min(e.endpoint.priority for e in pool)
    pool = [e for e in pool if e.endpoint.priority == best]
    if len(pool) == 1:
        return pool[0]
    return (rng or random).choices(pool, weights=[e.endpoint.weight for e in pool])[0]
