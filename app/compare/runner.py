"""Stream several models at once: one task per column on the background loop.

The UI reads ``snapshot()`` whenever it redraws; a slow column never holds up a fast one, a
failed column never stops the others, and ``stop()`` cancels what is still running (keeping the
text that arrived). A recorder, when given, persists the run as it goes. With ``concurrency`` at
most that many columns of each model stream at once (a matrix run's cells); the rest wait their
turn, and a slow model never takes a fast one's slots.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.compare.background_loop import BackgroundLoop, shared_loop
from app.compare.costs import priced
from app.compare.usage_estimate import estimate_usage
from vv_llm.chat_clients import create_async_chat_client
from vv_llm.errors import PartialStreamError

log = logging.getLogger(__name__)

WAITING, STREAMING, DONE, ERROR, PARTIAL, STOPPED = "waiting", "streaming", "done", "error", "partial", "stopped"
FINISHED = frozenset({DONE, ERROR, PARTIAL, STOPPED})
PROGRESS_EVERY = 1.0
"""Seconds between writes of a column's partial output to history while it streams."""


@dataclass
class ColumnRequest:
    backend: str
    model: str
    messages: list[dict[str, Any]]
    """The whole conversation to send (OpenAI format)."""
    options: dict[str, Any] = field(default_factory=dict)
    """``create_stream`` options: temperature, max_tokens, thinking, tools."""

    def options_summary(self) -> dict[str, Any]:
        """The column's model and options as stored in history (tools are kept once per run)."""
        return {"backend": self.backend, "model": self.model, **{k: v for k, v in self.options.items() if k != "tools"}}


@dataclass
class ColumnState:
    """One column's answer so far and how it went."""

    backend: str
    model: str
    status: str = WAITING
    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """OpenAI shape: ``{"id", "type", "function": {"name", "arguments"}}``."""
    usage: dict[str, int] | None = None
    usage_estimated: bool = False
    """``usage`` was counted locally because the stream ended without the provider's report."""
    cost: float | None = None
    cost_source: str | None = None
    """Where the prices behind ``cost`` came from (``genai-prices 0.2.3``, ``your settings``, ...)."""
    endpoint_id: str | None = None
    finish_reason: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    ttft: float | None = None
    """Seconds from sending to the first output (content, reasoning or tool call)."""
    total: float | None = None
    started: float | None = None
    """``time.monotonic()`` at start (for the live elapsed time)."""
    reply: dict[str, Any] | None = None
    """The assistant message to continue the conversation with (None if nothing arrived)."""
    request_report: dict[str, Any] | None = None
    """What the provider received (``RequestReport.to_dict()``): endpoint, model id, option fates."""
    params: dict[str, Any] = field(default_factory=dict)
    """The options the user set for this column (temperature, max_tokens, thinking), shown on its card."""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def elapsed(self) -> float | None:
        if self.total is not None:
            return self.total
        return time.monotonic() - self.started if self.started is not None else None

    @property
    def tokens_per_second(self) -> float | None:
        """Output tokens per second of generation (after the first token)."""
        if not self.usage or self.total is None or self.ttft is None:
            return None
        generating = self.total - self.ttft
        completion = self.usage.get("completion_tokens") or 0
        return completion / generating if generating > 0.01 and completion else None


class RunRecorder(Protocol):
    """Persists a run as it happens (history). Called from worker threads."""

    def run_started(self, run: CompareRun) -> None: ...
    def column_progress(self, run: CompareRun, index: int, state: ColumnState) -> None: ...
    def column_finished(self, run: CompareRun, index: int, state: ColumnState) -> None: ...
    def run_finished(self, run: CompareRun) -> None: ...


def _report(source: Any) -> dict[str, Any] | None:
    """The request report a reply or an error carries, JSON-ready."""
    report = getattr(source, "request_report", None)
    return report.to_dict() if report is not None else None


def _copy_state(state: ColumnState) -> ColumnState:
    """A copy safe to read while the original streams on (strings are immutable; containers are copied)."""
    out = copy.copy(state)
    out.tool_calls = copy.deepcopy(state.tool_calls) if state.tool_calls else []
    out.usage = dict(state.usage) if state.usage is not None else None
    out.reply = copy.deepcopy(state.reply) if state.reply is not None else None
    return out


def _merge_tool_deltas(calls: list[dict[str, Any]], deltas: Any) -> None:
    for delta in deltas:
        while len(calls) <= delta.index:
            calls.append({"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
        call = calls[delta.index]
        if delta.id:
            call["id"] = delta.id
        if delta.function is not None:
            if delta.function.name:
                call["function"]["name"] += delta.function.name
            if delta.function.arguments:
                call["function"]["arguments"] += delta.function.arguments


class CompareRun:
    """One prompt sent to several models at the same time."""

    def __init__(
        self,
        requests: list[ColumnRequest],
        *,
        meta: dict[str, Any] | None = None,
        recorder: RunRecorder | None = None,
        loop: BackgroundLoop | None = None,
        scrub: Callable[[str | None], str | None] | None = None,
        run_id: str | None = None,
        concurrency: int | None = None,
    ):
        self.id = run_id or uuid.uuid4().hex
        self.concurrency = concurrency
        self.requests = requests
        self.meta = meta or {}
        self.states = [ColumnState(r.backend, r.model, params={k: v for k, v in r.options.items() if k != "tools"}) for r in requests]
        self.recorder = recorder
        self.history_error: str | None = None
        self._loop = loop
        self._scrub = scrub or (lambda text: text)
        self._lock = threading.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._slots: dict[tuple[str, str], asyncio.Semaphore] = {}
        self._settled: dict[int, ColumnState | None] = {}
        """Columns that will not change any more (their copy, once a snapshot made it)."""
        self._stop_requested = False
        self._cancelled = False
        self._done = threading.Event()
        self.started_at = time.time()

    @classmethod
    def restored(cls, states: list[ColumnState], *, run_id: str, meta: dict[str, Any]) -> CompareRun:
        """A finished run rebuilt from history (nothing runs)."""
        run = cls([ColumnRequest(s.backend, s.model, []) for s in states], meta=meta, run_id=run_id)
        run.states = states
        run._done.set()
        return run

    # -- control (any thread) ------------------------------------------------------------
    def start(self) -> CompareRun:
        self._record("run_started")
        loop = self._loop or shared_loop()
        self._loop = loop
        loop.submit(self._main())
        return self

    def stop(self) -> None:
        """Cancel every column still running; what arrived is kept (status ``stopped``)."""
        self._stop_requested = True
        if self._loop is not None and not self._done.is_set():
            self._loop.call_soon(self._cancel_all)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def snapshot(self) -> list[ColumnState]:
        """A consistent copy of every column, for drawing: read-only (a settled column is copied once, then reused)."""
        with self._lock:
            out = []
            for i, state in enumerate(self.states):
                settled = self._settled.get(i)
                if settled is None:
                    settled = _copy_state(state)
                    if i in self._settled:
                        self._settled[i] = settled
                out.append(settled)
            return out

    def column(self, index: int) -> ColumnState:
        with self._lock:
            return _copy_state(self.states[index])

    def status_counts(self) -> dict[str, int]:
        """How many columns are in each status (cheap: nothing is copied)."""
        counts: dict[str, int] = {}
        with self._lock:
            for state in self.states:
                counts[state.status] = counts.get(state.status, 0) + 1
        return counts

    # -- work (background loop) ----------------------------------------------------------
    def _cancel_all(self) -> None:
        if self._cancelled:
            return  # a second cancel could interrupt a column while it saves what arrived
        self._cancelled = bool(self._tasks)
        for task in self._tasks:
            if not task.done():
                task.cancel()

    def _record(self, method: str, *args: Any) -> None:
        if self.recorder is None:
            return
        try:
            getattr(self.recorder, method)(self, *args)
        except Exception as exc:  # history must never break a run
            log.warning("history: %s failed: %s", method, type(exc).__name__)
            self.history_error = f"history could not be saved ({type(exc).__name__}: {self._scrub(str(exc))})"

    async def _main(self) -> None:
        try:
            if self.concurrency:
                self._slots = {(r.backend, r.model): asyncio.Semaphore(self.concurrency) for r in self.requests}
            self._tasks = [asyncio.create_task(self._column_in_turn(i)) for i in range(len(self.requests))]
            if self._stop_requested:
                self._cancel_all()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await asyncio.to_thread(self._record, "run_finished")
        finally:
            self._done.set()

    async def _column_in_turn(self, index: int) -> None:
        """Stream column ``index`` once its model has a free slot (at once without a concurrency cap)."""
        request = self.requests[index]
        slots = self._slots.get((request.backend, request.model))
        if slots is None:
            await self._column(index)
            return
        try:
            await slots.acquire()
        except asyncio.CancelledError:  # stopped while waiting: nothing was sent
            with self._lock:
                self.states[index].status = STOPPED
                self.states[index].error_message = "stopped before it was sent"
                self._settled[index] = None
            await asyncio.to_thread(self._record, "column_finished", index, self.column(index))
            return
        released = False

        def release() -> None:  # as soon as the stream is over: saving it must not hold the slot
            nonlocal released
            if not released:
                released = True
                slots.release()

        try:
            await self._column(index, on_settled=release)
        finally:
            release()

    async def _column(self, index: int, on_settled: Callable[[], None] | None = None) -> None:
        request = self.requests[index]
        state = self.states[index]
        start = time.monotonic()
        with self._lock:
            state.started = start
        stream: Any = None
        progress: asyncio.Task[None] | None = None
        last_progress = start
        try:
            client = create_async_chat_client(request.backend, request.model)
            stream = client.create_stream(request.messages, **request.options)
            async for delta in stream:
                now = time.monotonic()
                with self._lock:
                    if state.ttft is None and (delta.content or delta.reasoning_content or delta.tool_calls):
                        state.ttft = now - start
                        state.status = STREAMING
                    if delta.content:
                        state.content += delta.content
                    if delta.reasoning_content:
                        state.reasoning += delta.reasoning_content
                    if delta.tool_calls:
                        _merge_tool_deltas(state.tool_calls, delta.tool_calls)
                    if delta.usage is not None:
                        state.usage = delta.usage.model_dump()
                if self.recorder is not None and now - last_progress >= PROGRESS_EVERY and (progress is None or progress.done()):
                    last_progress = now
                    progress = asyncio.create_task(asyncio.to_thread(self._record, "column_progress", index, self.column(index)))
            self._complete(state, stream.message, DONE)
        except asyncio.CancelledError:
            with self._lock:
                state.status = STOPPED
                state.error_message = "stopped before the model finished"
        except PartialStreamError as exc:
            self._complete(state, exc.partial, PARTIAL)
            with self._lock:
                state.error_type = type(exc).__name__
                state.error_message = self._scrub(str(exc))
                state.endpoint_id = state.endpoint_id or exc.endpoint_id
                state.request_report = _report(exc) or state.request_report
        except Exception as exc:
            with self._lock:
                state.status = ERROR
                state.error_type = type(exc).__name__
                state.error_message = self._scrub(str(exc)) or type(exc).__name__
                state.endpoint_id = getattr(exc, "endpoint_id", None)
                state.request_report = _report(exc)
        finally:
            if stream is not None:
                try:
                    await stream.aclose()
                except Exception:
                    pass
            with self._lock:
                state.total = time.monotonic() - start
                if state.usage is None and (state.content or state.reasoning or state.tool_calls):
                    state.usage = estimate_usage(
                        state.backend,
                        state.model,
                        request.messages,
                        request.options.get("tools"),
                        state.content,
                        state.reasoning,
                        state.tool_calls,
                    )
                    state.usage_estimated = state.usage is not None
                if state.usage is not None:
                    result = priced(state.backend, state.model, state.usage)
                    state.cost = result.total if result is not None else None
                    state.cost_source = result.source.label if result is not None and result.source is not None else None
                if state.reply is None and (state.content or state.reasoning):
                    state.reply = {"role": "assistant", "content": state.content}
                self._settled[index] = None
            if on_settled is not None:
                on_settled()
            if progress is not None:
                await asyncio.gather(progress, return_exceptions=True)
            await asyncio.to_thread(self._record, "column_finished", index, self.column(index))

    def _complete(self, state: ColumnState, message: Any, status: str) -> None:
        with self._lock:
            state.status = status
            state.content = message.content or state.content
            state.reasoning = message.reasoning_content or state.reasoning
            if message.tool_calls:
                state.tool_calls = [call.model_dump() for call in message.tool_calls]
            if message.usage is not None:
                state.usage = message.usage.model_dump()
            state.finish_reason = message.finish_reason
            state.endpoint_id = message.endpoint_id
            state.request_report = _report(message) or state.request_report
            if status == DONE:
                state.reply = message.to_openai_message()
