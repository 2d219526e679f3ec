"""RPM/TPM/concurrency limits around every call (see ``gate_for``).

Stores: ``memory`` (default, one process), ``redis`` (every process and machine using it) and
``diskcache`` (every process on a machine using the directory), all behind one interface
(``store.Store``). When no limit is configured anywhere, calls pass a gate that costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from vv_llm.utilities.rate_limit.diskcache_store import DiskCacheStore
from vv_llm.utilities.rate_limit.gate import Gate
from vv_llm.utilities.rate_limit.memory import MemoryStore
from vv_llm.utilities.rate_limit.redis_store import RedisStore

if TYPE_CHECKING:
    from vv_llm.settings.schema import RateLimitSetting, SettingsModel
    from vv_llm.utilities.rate_limit.store import Store


class NoLimits:
    """The gate when no limit is configured anywhere: costs nothing per call."""

    active = False
    blocking = False

    def acquire(self, endpoint: Any, call: Any, wait: bool = True) -> Generator[Any, Any, None]:
        return None
        yield  # pragma: no cover - makes this a generator

    def finish(self, ticket: Any, usage: Any) -> Generator[Any, Any, None]:
        return None
        yield  # pragma: no cover


def _configured(settings: SettingsModel) -> bool:
    limits = settings.rate_limit
    if limits.default_rpm or limits.default_tpm:
        return True
    if any(e.rpm or e.tpm or e.concurrent_requests for e in settings.endpoints):
        return True
    for backend in settings.backends.values():
        refs = list(backend.endpoints)
        for model in backend.models.values():
            refs += model.endpoints
        if any(ref.rpm or ref.tpm for ref in refs):
            return True
    return False


def gate_for(settings: SettingsModel) -> Any:
    """The rate-limit gate for these settings."""
    if not settings.rate_limit.enabled or not _configured(settings):
        return NoLimits()

    return Gate(store_for(settings.rate_limit), settings.rate_limit)


_stores: dict[tuple[Any, ...], Store] = {}
_lock = threading.Lock()


def store_for(setting: RateLimitSetting) -> Store:
    """The process's store for this configuration (one per memory / Redis server / directory)."""
    if setting.backend == "redis":
        redis = setting.redis
        password = redis.password.get_secret_value() if redis.password is not None else None
        key: tuple[Any, ...] = ("redis", redis.url, redis.host, redis.port, redis.db, password)
    elif setting.backend == "diskcache":
        import os

        key = ("diskcache", os.path.abspath(setting.diskcache.cache_dir))
    else:
        key = ("memory",)
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = _new_store(setting, key)
    return store


def _new_store(setting: RateLimitSetting, key: tuple[Any, ...]) -> Store:
    if key[0] == "redis":
        return RedisStore(setting.redis)
    if key[0] == "diskcache":
        return DiskCacheStore(key[1])

    return MemoryStore()


def reset_memory_store() -> None:
    """Forget every call the in-memory store has counted (for tests)."""
    store = _stores.get(("memory",))
    if store is not None:
        store.clear()  # type: ignore[attr-defined]
