"""The default store: this process's memory, shared by its threads and event loops."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence

from vv_llm.utilities.rate_limit.store import Limit, Refusal, amount, wait_for_room


class _Log:
    """Calls admitted within the window: ``[timestamp, amount]`` oldest first, and their sum."""

    __slots__ = ("by_entry", "items", "total")

    def __init__(self) -> None:
        self.items: deque[tuple[str, list[float]]] = deque()
        self.by_entry: dict[str, list[float]] = {}
        self.total = 0

    def prune(self, horizon: float) -> None:
        items = self.items
        while items and items[0][1][0] <= horizon:
            entry, item = items.popleft()
            self.total -= int(item[1])
            self.by_entry.pop(entry, None)


class MemoryStore:
    blocking = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: dict[str, _Log] = {}
        self._in_flight: dict[str, set[str]] = {}

    def acquire(self, limits: Sequence[Limit], entry: str, tokens: int, window: float) -> Refusal | None:
        now = time.monotonic()
        with self._lock:
            for i, limit in enumerate(limits):
                if limit.kind == "concurrency":
                    if len(self._in_flight.get(limit.key, ())) >= limit.capacity:
                        return Refusal(i, None)
                    continue
                log = self._logs.get(limit.key)
                if log is None:
                    continue
                log.prune(now - window)
                need = amount(limit, tokens)
                if log.total + need > limit.capacity:
                    entries = [(item[0], int(item[1])) for _, item in log.items]
                    return Refusal(i, wait_for_room(entries, log.total, need, limit.capacity, window, now))
            for limit in limits:
                if limit.kind == "concurrency":
                    self._in_flight.setdefault(limit.key, set()).add(entry)
                    continue
                log = self._logs.get(limit.key)
                if log is None:
                    log = self._logs[limit.key] = _Log()
                size = amount(limit, tokens)
                item = [now, float(size)]
                log.items.append((entry, item))
                log.by_entry[entry] = item
                log.total += size
        return None

    def finish(self, limits: Sequence[Limit], entry: str, tokens: int | None) -> None:
        with self._lock:
            for limit in limits:
                if limit.kind == "concurrency":
                    self._in_flight.get(limit.key, set()).discard(entry)
                elif limit.kind == "tpm" and tokens is not None:
                    log = self._logs.get(limit.key)
                    item = log.by_entry.get(entry) if log is not None else None
                    if log is not None and item is not None:
                        log.total += tokens - int(item[1])
                        item[1] = float(tokens)

    def clear(self) -> None:
        """Forget every call (tests)."""
        with self._lock:
            self._logs.clear()
            self._in_flight.clear()
