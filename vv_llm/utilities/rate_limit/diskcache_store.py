"""Limits shared by every process on one machine through a DiskCache directory (SQLite
transactions: each acquire reads, checks and writes all of a call's limits in one).

RPM/TPM windows are kept as ``BUCKETS`` time buckets rather than one entry per call, so a call
costs the same however many calls the window holds. A bucket counts until all of it has left the
window: never more than the limit in any window, at the price of up to 1/BUCKETS of a window's
extra wait.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from vv_llm.errors import RateLimitStoreError
from vv_llm.utilities.rate_limit.store import LEASE_SECONDS, Limit, Refusal, amount, wait_for_room

log = logging.getLogger("vv_llm.rate_limit")

PREFIX = "vv_llm:rl:"
BUCKETS = 60


class DiskCacheStore:
    blocking = True

    def __init__(self, directory: str):
        try:
            import diskcache
        except ImportError:
            raise RateLimitStoreError(
                "rate_limit.backend is 'diskcache' but the diskcache package is not installed: pip install 'vv-llm[diskcache]'"
            ) from None
        self._directory = directory
        try:
            self._cache = diskcache.Cache(directory, timeout=60)
        except Exception as exc:
            raise RateLimitStoreError(f"rate-limit store DiskCache at {directory!r} cannot be opened: {exc}") from None

    def acquire(self, limits: Sequence[Limit], entry: str, tokens: int, window: float) -> Refusal | None:
        try:
            return self._acquire(limits, entry, tokens, window)
        except RateLimitStoreError:
            raise
        except Exception as exc:
            raise RateLimitStoreError(f"rate-limit store DiskCache at {self._directory!r} failed: {type(exc).__name__}: {exc}") from None

    def _acquire(self, limits: Sequence[Limit], entry: str, tokens: int, window: float) -> Refusal | None:
        cache = self._cache
        width = window / BUCKETS
        with cache.transact(retry=True):
            now = time.time()
            states: list[Any] = []
            for i, limit in enumerate(limits):
                state = cache.get(PREFIX + limit.key, retry=True)
                if limit.kind == "concurrency":
                    held = {k: v for k, v in (state or {}).items() if v > now}
                    if len(held) >= limit.capacity:
                        return Refusal(i, None)
                    states.append(held)
                    continue
                # {"buckets": {bucket start: amount}, "calls": {entry: (bucket start, tokens reserved)}}
                # ("calls": TPM reservations not settled yet)
                state = state or {"buckets": {}, "calls": {}}
                horizon = now - window - width
                state["buckets"] = {start: size for start, size in state["buckets"].items() if start > horizon}
                state["calls"] = {e: call for e, call in state["calls"].items() if call[0] in state["buckets"]}
                total = sum(state["buckets"].values())
                need = amount(limit, tokens)
                if total + need > limit.capacity:
                    # A bucket leaves the window once its end has: measure from its end.
                    ends = sorted((start + width, size) for start, size in state["buckets"].items())
                    return Refusal(i, wait_for_room(ends, total, need, limit.capacity, window, now))
                states.append(state)
            start = math.floor(now / width) * width
            for limit, state in zip(limits, states, strict=True):
                if limit.kind == "concurrency":
                    state[entry] = now + LEASE_SECONDS
                    cache.set(PREFIX + limit.key, state, expire=LEASE_SECONDS + 1, retry=True)
                    continue
                state["buckets"][start] = state["buckets"].get(start, 0) + amount(limit, tokens)
                if limit.kind == "tpm":
                    state["calls"][entry] = (start, tokens)
                cache.set(PREFIX + limit.key, state, expire=window + 2 * width + 1, retry=True)
        return None

    def finish(self, limits: Sequence[Limit], entry: str, tokens: int | None) -> None:
        cache = self._cache
        try:
            with cache.transact(retry=True):
                for limit in limits:
                    key = PREFIX + limit.key
                    if limit.kind == "concurrency":
                        held = cache.get(key, retry=True)
                        if held and entry in held:
                            del held[entry]
                            cache.set(key, held, expire=LEASE_SECONDS + 1, retry=True)
                    elif limit.kind == "tpm":
                        state = cache.get(key, retry=True)
                        call = state["calls"].pop(entry, None) if state else None
                        if state is None or call is None:
                            continue
                        start, reserved = call
                        if tokens is not None and start in state["buckets"]:
                            # The reservation becomes the real usage (kept in its admission bucket).
                            state["buckets"][start] += tokens - reserved
                        cache.set(key, state, retry=True)  # the next acquire sets its expiry again
        except Exception as exc:  # the call itself succeeded; its slot expires on its own
            log.warning("rate-limit store DiskCache at %r failed to settle a call: %s: %s", self._directory, type(exc).__name__, exc)
