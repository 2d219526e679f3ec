"""The gate every call passes before it is sent: RPM, TPM and concurrency per endpoint (and per
model on an endpoint), waiting for room without blocking an event loop, within the call's deadline."""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Generator
from functools import partial
from typing import TYPE_CHECKING, Any

from vv_llm.errors import RateLimited
from vv_llm.types.effects import Blocking, Sleep
from vv_llm.utilities.rate_limit.store import Limit, Store
from vv_llm.utilities.tokens import get_message_token_counts

if TYPE_CHECKING:
    from vv_llm.settings.schema import RateLimitSetting
    from vv_llm.settings.store import ResolvedEndpoint

OUTPUT_RESERVE = 4096
"""Output tokens a TPM limit reserves for a call that gives no ``max_tokens`` (at most the
model's ``max_output_tokens``); settled to the real usage when the call ends."""
POLL_MIN, POLL_MAX = 0.02, 0.5
"""Re-check intervals while waiting on a limit whose room cannot be predicted."""

_ids = itertools.count()
_process = os.urandom(6).hex()


class Ticket:
    """A call's admission, to be settled (or released) exactly once — by the store that issued
    it, even if settings changed since."""

    __slots__ = ("done", "entry", "limits", "pending", "store", "tokens")

    def __init__(self, store: Store, limits: tuple[Limit, ...], entry: str, tokens: int):
        self.store = store
        self.limits = limits
        self.entry = entry
        self.tokens = tokens
        self.done = False
        self.pending = any(limit.kind != "rpm" for limit in limits)
        """Whether ending the call has anything to tell the store."""

    @property
    def blocking(self) -> bool:
        """Whether settling does I/O (async code then runs it in a worker thread)."""
        return self.pending and not self.done and self.store.blocking

    def settle(self, usage: Any) -> None:
        """The call ended with ``usage`` (None: unknown, the TPM reservation stays); frees its slots."""
        if self.done:
            return
        self.done = True
        if self.pending:
            tokens = getattr(usage, "total_tokens", None) if self.tokens else None
            self.store.finish(self.limits, self.entry, tokens or None)

    def release(self) -> None:
        """The call failed before any output: its reserved tokens are returned, its slots freed."""
        if self.done:
            return
        self.done = True
        if self.pending:
            self.store.finish(self.limits, self.entry, 0 if self.tokens else None)


class Gate:
    """Rate limits through one store (memory, Redis or DiskCache)."""

    active = True

    def __init__(self, store: Store, setting: RateLimitSetting):
        self.store = store
        self.blocking = store.blocking
        self.window = setting.window_seconds
        self.default_rpm = setting.default_rpm
        self.default_tpm = setting.default_tpm
        self._limits: dict[tuple[str, str], tuple[Limit, ...]] = {}

    def limits(self, endpoint: ResolvedEndpoint) -> tuple[Limit, ...]:
        key = (endpoint.id, endpoint.model_id)
        limits = self._limits.get(key)
        if limits is None:
            setting = endpoint.endpoint
            found = []
            rpm, tpm = setting.rpm or self.default_rpm, setting.tpm or self.default_tpm
            if rpm:
                found.append(Limit("rpm", rpm, endpoint.id))
            if tpm:
                found.append(Limit("tpm", tpm, endpoint.id))
            if endpoint.rpm:
                found.append(Limit("rpm", endpoint.rpm, endpoint.id, endpoint.model_id))
            if endpoint.tpm:
                found.append(Limit("tpm", endpoint.tpm, endpoint.id, endpoint.model_id))
            if setting.concurrent_requests:
                found.append(Limit("concurrency", setting.concurrent_requests, endpoint.id))
            limits = self._limits[key] = tuple(found)
        return limits

    def acquire(self, endpoint: ResolvedEndpoint, call: Any, wait: bool = True) -> Generator[Any, Any, Ticket | None]:
        """Admit the call on ``endpoint`` → a ticket (None when no limit applies).

        Waits (``Sleep`` effects) until every limit has room; raises :class:`RateLimited` naming
        the full limit when the call's deadline would pass first, or at once when ``wait`` is false.
        """
        limits = self.limits(endpoint)
        if not limits:
            return None
        tokens = 0
        tpm = [limit.capacity for limit in limits if limit.kind == "tpm"]
        if tpm:
            tokens = min(estimate_tokens(call), *tpm)
        entry = f"{_process}-{next(_ids)}"
        store = self.store
        deadline = call.deadline
        poll = POLL_MIN
        refused: RateLimited | None = None
        while True:
            if refused is not None and deadline is not None and time.monotonic() >= deadline:
                raise refused  # waited until the deadline: admitting now would leave no time to send
            if self.blocking:
                refusal = yield Blocking(partial(store.acquire, limits, entry, tokens, self.window))
            else:
                refusal = store.acquire(limits, entry, tokens, self.window)
            if refusal is None:
                return Ticket(store, limits, entry, tokens)
            limit = limits[refusal.index]
            pause = refusal.wait
            remaining = None if deadline is None else deadline - time.monotonic()
            if not wait or (
                remaining is not None and (remaining <= 0 or (limit.kind == "rpm" and pause is not None and pause > remaining))
            ):
                raise self._refused(limit, pause, waited=wait)
            refused = self._refused(limit, pause, waited=True)
            if pause is None or limit.kind == "tpm":
                # Room may come sooner (a call ends, a reservation settles lower): look again soon.
                pause = poll if pause is None else min(pause, poll)
                poll = min(poll * 2, POLL_MAX)
            pause += random.uniform(0, 0.01)  # contenders in other processes do not all wake at once
            yield Sleep(pause if remaining is None else max(0.0, min(pause, remaining)))

    def _refused(self, limit: Limit, pause: float | None, waited: bool) -> RateLimited:
        when = "before the call's deadline" if waited else "now"
        return RateLimited(
            f"rate limited: the {limit.describe(self.window)} has no room {when}"
            + (f" (next room in {pause:.2f} s)" if pause is not None else ""),
            endpoint_id=limit.endpoint_id,
            limit=limit.kind,
            model_id=limit.model_id,
            retry_after=pause,
        )

    def finish(self, ticket: Ticket | None, usage: Any) -> Generator[Any, Any, None]:
        """Settle ``ticket`` from inside a plan: in a worker thread when the store does I/O."""
        if ticket is None or ticket.done or not ticket.pending:
            return
        if ticket.store.blocking:
            yield Blocking(partial(ticket.settle, usage))
        else:
            ticket.settle(usage)


def estimate_tokens(call: Any) -> int:
    """Tokens a call may use: its prompt's (estimated) plus its ``max_tokens``."""
    params = call.params
    output = params.max_tokens
    if output is None:
        output = min(params.max_output_tokens or OUTPUT_RESERVE, OUTPUT_RESERVE)
    return prompt_tokens(params.messages, params.tools, call.resolved) + output


def prompt_tokens(messages: list[dict[str, Any]], tools: Any, resolved: Any) -> int:
    try:
        return int(get_message_token_counts(messages, tools, resolved.name, resolved.backend))
    except Exception:  # an estimate only: never fail a call over it
        return _rough_tokens(messages, tools)


def _rough_tokens(messages: list[dict[str, Any]], tools: Any) -> int:
    chars = len(str(tools)) if tools else 0
    images = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict):
                    if part.get("type") == "text":
                        chars += len(str(part.get("text") or ""))
                    else:
                        images += 1
        if message.get("tool_calls"):
            chars += len(str(message["tool_calls"]))
    return chars // 4 + 4 * len(messages) + 765 * images
