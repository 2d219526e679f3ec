"""Limits shared by every process on one machine through a DiskCache directory (SQLite
transactions: each acquire reads, checks and writes all of a call's limits in one)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from vv_llm.errors import RateLimitStoreError
from vv_llm.utilities.rate_limit.store import LEASE_SECONDS, Limit, Refusal, amount, wait_for_room

log = logging.getLogger("vv_llm.rate_limit")

PREFIX = "vv_llm:rl:"


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
                # [[timestamp, entry, amount], ...] oldest first
                entries = [e for e in (state or ()) if e[0] > now - window]
                total = sum(e[2] for e in entries)
                need = amount(limit, tokens)
                if total + need > limit.capacity:
                    return Refusal(i, wait_for_room([(e[0], e[2]) for e in entries], total, need, limit.capacity, window, now))
                states.append(entries)
            for limit, state in zip(limits, states, strict=True):
                if limit.kind == "concurrency":
                    state[entry] = now + LEASE_SECONDS
                    cache.set(PREFIX + limit.key, state, expire=LEASE_SECONDS + 1, retry=True)
                else:
                    state.append([now, entry, amount(limit, tokens)])
                    cache.set(PREFIX + limit.key, state, expire=window + 1, retry=True)
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
                    elif limit.kind == "tpm" and tokens is not None:
                        entries = cache.get(key, retry=True)
                        for e in entries or ():
                            if e[1] == entry:
                                e[2] = tokens
                                cache.set(key, entries, retry=True)  # the next acquire sets its expiry again
                                break
        except Exception as exc:  # the call itself succeeded; its slot expires on its own
            log.warning("rate-limit store DiskCache at %r failed to settle a call: %s: %s", self._directory, type(exc).__name__, exc)
