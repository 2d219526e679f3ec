"""What every rate-limit store implements, and the sliding-window arithmetic they share.

A store keeps, per limit, a log of the calls admitted in the last ``window`` seconds (RPM counts
them, TPM sums their tokens) or the set of calls in flight (concurrency). ``acquire`` checks every
limit of a call and admits it into all of them at once, or into none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

LEASE_SECONDS = 900.0
"""A shared store forgets an in-flight call after this long (a process that died holding a slot)."""


@dataclass(frozen=True, slots=True)
class Limit:
    kind: str
    """``rpm``, ``tpm`` or ``concurrency``."""
    capacity: int
    endpoint_id: str
    model_id: str | None = None
    """Set for a model's own limit on the endpoint."""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.endpoint_id}" if self.model_id is None else f"{self.kind}:{self.endpoint_id}:{self.model_id}"

    def describe(self, window: float) -> str:
        where = f"endpoint {self.endpoint_id!r}" + (f" for model {self.model_id!r}" if self.model_id else "")
        if self.kind == "concurrency":
            return f"concurrent_requests limit ({self.capacity} in flight) of {where}"
        return f"{self.kind} limit ({self.capacity} per {window:g} s) of {where}"


@dataclass(frozen=True, slots=True)
class Refusal:
    index: int
    """Which of the call's limits is full."""
    wait: float | None
    """Seconds until it has room, if known (concurrency: unknown)."""


class Store(Protocol):
    blocking: bool
    """True when calls do I/O (the async client runs them in a worker thread)."""

    def acquire(self, limits: Sequence[Limit], entry: str, tokens: int, window: float) -> Refusal | None:
        """Admit call ``entry`` (reserving ``tokens`` under TPM limits) into all ``limits``, or refuse."""

    def finish(self, limits: Sequence[Limit], entry: str, tokens: int | None) -> None:
        """The call ended: its TPM entries become ``tokens`` (None keeps the reservation) and its
        concurrency slots are freed."""


def amount(limit: Limit, tokens: int) -> int:
    return tokens if limit.kind == "tpm" else 1


def wait_for_room(entries: Sequence[tuple[float, int]], total: int, need: int, capacity: int, window: float, now: float) -> float:
    """Seconds until the oldest ``(timestamp, amount)`` entries expire enough for ``need`` more."""
    excess = total + need - capacity
    for stamp, size in entries:
        excess -= size
        if excess <= 0:
            return max(0.0, stamp + window - now)
    return window
