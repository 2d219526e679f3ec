"""Limits shared by every process and machine using one Redis: one Lua script per acquire.

Per limit three keys share a hash tag (the endpoint id, so a cluster keeps them on one slot): a
sorted set of call ids scored by admission time (in-flight calls: by lease expiry), a hash of
each call's tokens and the window's token total. Time is Redis's own clock (``TIME``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vv_llm.errors import RateLimitStoreError
from vv_llm.utilities.rate_limit.store import LEASE_SECONDS, Limit, Refusal

if TYPE_CHECKING:
    from vv_llm.settings.schema import RedisSetting

log = logging.getLogger("vv_llm.rate_limit")

PREFIX = "vv_llm:rl:"

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local entry, window, tokens, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local n = (#ARGV - 4) / 2
for i = 1, n do
  local kind, cap = ARGV[3 + 2 * i], tonumber(ARGV[4 + 2 * i])
  local z, h, total_key = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  if kind == 'concurrency' then
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
    if redis.call('ZCARD', z) >= cap then return {0, i, ''} end
  elseif kind == 'rpm' then
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now - window)
    local count = redis.call('ZCARD', z)
    if count >= cap then
      local oldest = redis.call('ZRANGE', z, count - cap, count - cap, 'WITHSCORES')
      return {0, i, tostring(tonumber(oldest[2]) + window - now)}
    end
  else
    local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now - window)
    if #expired > 0 then
      local freed = 0
      for _, id in ipairs(expired) do
        freed = freed + (tonumber(redis.call('HGET', h, id)) or 0)
        redis.call('HDEL', h, id)
      end
      redis.call('ZREMRANGEBYSCORE', z, '-inf', now - window)
      redis.call('DECRBY', total_key, freed)
    end
    local total = tonumber(redis.call('GET', total_key) or '0')
    if total + tokens > cap then
      local excess = total + tokens - cap
      local items = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
      local wait = window
      for j = 1, #items, 2 do
        excess = excess - (tonumber(redis.call('HGET', h, items[j])) or 0)
        if excess <= 0 then
          wait = tonumber(items[j + 1]) + window - now
          break
        end
      end
      return {0, i, tostring(wait)}
    end
  end
end
local ttl = math.ceil(window) + 1
for i = 1, n do
  local kind = ARGV[3 + 2 * i]
  local z, h, total_key = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  if kind == 'concurrency' then
    redis.call('ZADD', z, now + lease, entry)
    redis.call('EXPIRE', z, math.ceil(lease) + 1)
  elseif kind == 'rpm' then
    redis.call('ZADD', z, now, entry)
    redis.call('EXPIRE', z, ttl)
  else
    redis.call('ZADD', z, now, entry)
    redis.call('HSET', h, entry, tokens)
    redis.call('INCRBY', total_key, tokens)
    redis.call('EXPIRE', z, ttl)
    redis.call('EXPIRE', h, ttl)
    redis.call('EXPIRE', total_key, ttl)
  end
end
return {1, 0, ''}
"""

_FINISH = """
local entry, tokens = ARGV[1], ARGV[2]
for i = 1, #ARGV - 2 do
  local kind = ARGV[2 + i]
  local z, h, total_key = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  if kind == 'concurrency' then
    redis.call('ZREM', z, entry)
  elseif kind == 'tpm' and tokens ~= '' then
    local old = redis.call('HGET', h, entry)
    if old then
      redis.call('HSET', h, entry, tokens)
      redis.call('INCRBY', total_key, tonumber(tokens) - tonumber(old))
    end
  end
end
return 1
"""


def _keys(limits: Sequence[Limit]) -> list[str]:
    keys = []
    for limit in limits:
        base = f"{PREFIX}{{{limit.endpoint_id}}}:{limit.key}"
        keys += [base, base + ":tokens", base + ":total"]
    return keys


class RedisStore:
    blocking = True

    def __init__(self, setting: RedisSetting):
        try:
            import redis
        except ImportError:
            raise RateLimitStoreError(
                "rate_limit.backend is 'redis' but the redis package is not installed: pip install 'vv-llm[redis]'"
            ) from None
        password = setting.password.get_secret_value() if setting.password is not None else None
        if setting.url:
            self._client: Any = redis.Redis.from_url(setting.url, password=password) if password else redis.Redis.from_url(setting.url)
        else:
            self._client = redis.Redis(host=setting.host, port=setting.port, db=setting.db, password=password)
        self._where = setting.url.split("@")[-1] if setting.url else f"{setting.host}:{setting.port}/{setting.db}"
        self._acquire = self._client.register_script(_ACQUIRE)
        self._finish = self._client.register_script(_FINISH)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)

    def acquire(self, limits: Sequence[Limit], entry: str, tokens: int, window: float) -> Refusal | None:
        args: list[Any] = [entry, window, tokens, LEASE_SECONDS]
        for limit in limits:
            args += [limit.kind, limit.capacity]
        try:
            granted, index, wait = self._acquire(keys=_keys(limits), args=args)
        except self._errors as exc:
            raise RateLimitStoreError(f"rate-limit store Redis at {self._where} failed: {type(exc).__name__}: {exc}") from None
        if granted:
            return None
        return Refusal(int(index) - 1, float(wait) if wait else None)

    def finish(self, limits: Sequence[Limit], entry: str, tokens: int | None) -> None:
        args: list[Any] = [entry, "" if tokens is None else tokens, *(limit.kind for limit in limits)]
        try:
            self._finish(keys=_keys(limits), args=args)
        except self._errors as exc:  # the call itself succeeded; its slot expires on its own
            log.warning("rate-limit store Redis at %s failed to settle a call: %s: %s", self._where, type(exc).__name__, exc)
