"""Matrix runs: every prompt of a set sent to every chosen model, with a concurrency cap.

A ``MatrixRun`` is a ``CompareRun`` (app.compare.runner) over the cells still to answer: the same
streaming, stop and snapshot machinery, with ``concurrency`` slots per model (a slow model never
takes a fast one's slots, so the run takes about the slowest model's answers / concurrency). Cells already answered (from
history, when a stopped or interrupted run is resumed) are kept and never sent again.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.compare.background_loop import BackgroundLoop
from app.compare.conversation import ColumnParams
from app.compare.cost_guard import CostEstimate, estimate_model
from app.compare.model_picker import parse_ref
from app.compare.prompt_sets import effective_template, render
from app.compare.runner import DONE, ERROR, FINISHED, PARTIAL, STOPPED, ColumnRequest, ColumnState, CompareRun, RunRecorder

Cell = tuple[int, int]
"""(prompt row, model column)."""
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 32
CONCURRENCY_ENV = "VV_LLM_MATRIX_CONCURRENCY"
"""The playground's default concurrency cap for matrix runs: cells of one model in flight at once (each endpoint's own limits still apply)."""
INTERRUPTED = "running"
"""A cell history left ``running`` (its process died): resent on resume like a stopped one."""


@dataclass
class MatrixSpec:
    """What a matrix run sends: the prompts (template × rows), the models and the shared options."""

    models: list[str]
    """``backend/model`` refs, one per column."""
    rows: list[dict[str, str]]
    template: str = ""
    columns: list[str] = field(default_factory=list)
    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    name: str = ""
    prompt_set_id: int | None = None
    budget_usd: float | None = None
    estimate_usd: float | None = None

    @property
    def cell_count(self) -> int:
        return len(self.rows) * len(self.models)

    def all_cells(self) -> list[Cell]:
        """Row by row, so the first prompts finish first."""
        return [(r, m) for r in range(len(self.rows)) for m in range(len(self.models))]

    def prompt(self, row: int) -> str:
        return render(effective_template(self.template), self.rows[row])

    def messages(self, row: int) -> list[dict[str, Any]]:
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt.strip() else []
        return [*system, {"role": "user", "content": self.prompt(row)}]

    def options(self) -> dict[str, Any]:
        return ColumnParams(temperature=self.temperature, max_tokens=self.max_tokens).options()

    def request(self, cell: Cell) -> ColumnRequest:
        backend, model = parse_ref(self.models[cell[1]])
        return ColumnRequest(backend, model, self.messages(cell[0]), self.options())

    def title(self) -> str:
        label = self.name.strip() or (self.prompt(0).strip().splitlines() or ["(no prompt)"])[0] if self.rows else "(empty)"
        return f"Matrix · {label} ({len(self.rows)} × {len(self.models)})"[:200]


def default_concurrency() -> int:
    """``$VV_LLM_MATRIX_CONCURRENCY`` (1–32), else 4."""
    try:
        value = int(os.environ.get(CONCURRENCY_ENV, DEFAULT_CONCURRENCY))
    except ValueError:
        return DEFAULT_CONCURRENCY
    return min(MAX_CONCURRENCY, max(1, value))


def estimate(spec: MatrixSpec, cells: Iterable[Cell] | None = None) -> CostEstimate:
    """The cost guard's estimate for sending ``cells`` (default: every cell), per model."""
    chosen = list(spec.all_cells() if cells is None else cells)
    out = CostEstimate()
    conversations: dict[tuple[int, ...], list[list[dict[str, Any]]]] = {}
    counted: dict[Any, list[int]] = {}  # models with the same tokenizer count each prompt once
    for m, ref in enumerate(spec.models):
        rows = tuple(r for r, column in chosen if column == m)
        if not rows:
            continue
        sent = conversations.setdefault(rows, [spec.messages(r) for r in rows])
        backend, model = parse_ref(ref)
        out.models.append(estimate_model(backend, model, sent, spec.max_tokens, counted))
    return out


SORTS = ("prompt order", "failures first", "slowest first", "most expensive first")


def order_cells(states: dict[Cell, ColumnState], cells: list[Cell], by: str) -> list[Cell]:
    """``cells`` with their rows ordered by ``by`` (one of ``SORTS``; a row ranks by its worst cell)."""
    if by not in SORTS[1:]:
        return cells

    def score(cell: Cell) -> float:
        state = states.get(cell)
        if state is None:
            return 0.0
        if by == "failures first":
            return 1.0 if state.status in (ERROR, PARTIAL, STOPPED) else 0.0
        if by == "slowest first":
            return state.total or 0.0
        return state.cost or 0.0

    rank: dict[int, float] = {}
    for cell in cells:
        rank[cell[0]] = max(rank.get(cell[0], 0.0), score(cell))
    return sorted(cells, key=lambda c: (-rank[c[0]], c[0], c[1]))


def needs_sending(state: ColumnState | None, *, retry_failed: bool = False) -> bool:
    """A cell to (re)send: never answered, stopped, interrupted — and failed ones when asked."""
    if state is None or state.status in (STOPPED, INTERRUPTED):
        return True
    return retry_failed and state.status in (ERROR, PARTIAL)


@dataclass
class Progress:
    done: int
    total: int
    elapsed: float
    eta: float | None
    """Seconds still to go at the pace so far (None until a cell of this session finished)."""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


class MatrixRun:
    """A matrix run in progress (or one reopened from history, with nothing to send)."""

    def __init__(
        self,
        spec: MatrixSpec,
        *,
        run_id: str | None = None,
        saved: dict[Cell, ColumnState] | None = None,
        recorder: RunRecorder | None = None,
        loop: BackgroundLoop | None = None,
        scrub: Callable[[str | None], str | None] | None = None,
        retry_failed: bool = False,
        status: str = "running",
    ):
        self.id = run_id or uuid.uuid4().hex
        self.spec = spec
        self.saved: dict[Cell, ColumnState] = dict(saved or {})
        self.sending: list[Cell] = [c for c in spec.all_cells() if needs_sending(self.saved.get(c), retry_failed=retry_failed)]
        self.stored_status = status
        requests = [spec.request(c) for c in self.sending]
        meta = {
            "matrix": spec,
            "cells": self.sending,
            "replacing": {c for c in self.sending if c in self.saved},
            "user_prompt": spec.template or "",
            "system_prompt": spec.system_prompt,
        }
        self.run = CompareRun(requests, meta=meta, recorder=recorder, loop=loop, scrub=scrub, run_id=self.id, concurrency=spec.concurrency)
        self._index = {cell: i for i, cell in enumerate(self.sending)}
        self._started: float | None = None

    # -- control -------------------------------------------------------------------------
    def start(self) -> MatrixRun:
        self._started = time.monotonic()
        with _active_lock:
            _active[self.id] = self
        self.run.start()
        return self

    def stop(self) -> None:
        self.run.stop()

    @property
    def started(self) -> bool:
        return self._started is not None

    @property
    def running(self) -> bool:
        return self.started and not self.run.finished

    @property
    def finished(self) -> bool:
        return not self.running

    def wait(self, timeout: float | None = None) -> bool:
        return self.run.wait(timeout) if self.started else True

    @property
    def status(self) -> str:
        """``running``, ``done`` (every cell answered), ``stopped`` or ``interrupted``."""
        if self.running:
            return "running"
        if not self.started:
            return self.stored_status
        states = self.cells()
        missing = any(needs_sending(states.get(c)) for c in self.spec.all_cells())
        return "stopped" if missing else "done"

    @property
    def resumable(self) -> bool:
        return not self.running and any(needs_sending(self.cells().get(c)) for c in self.spec.all_cells())

    # -- reading (any thread) ------------------------------------------------------------
    def cells(self) -> dict[Cell, ColumnState]:
        """Every cell's state: saved ones, then this session's (a copy, safe to draw)."""
        states = dict(self.saved)
        if self.started:
            for cell, state in zip(self.sending, self.run.snapshot(), strict=True):
                if cell in self.saved and state.status == STOPPED and not state.content:
                    continue  # a saved answer beats a resend that never started
                states[cell] = state
        return states

    def progress(self) -> Progress:
        total = self.spec.cell_count
        live = self.run.status_counts() if self.started else {}
        this_session = sum(n for status, n in live.items() if status in FINISHED and status != STOPPED)
        kept = sum(
            1 for cell, state in self.saved.items() if cell not in self._index and state.status in FINISHED and state.status != STOPPED
        )
        done = kept + this_session
        elapsed = (time.monotonic() - self._started) if self._started is not None else 0.0
        remaining = len(self.sending) - sum(live.get(s, 0) for s in FINISHED)
        eta = elapsed / this_session * remaining if this_session and self.running else (0.0 if not self.running else None)
        return Progress(done, total, elapsed, eta)


# -- summaries -----------------------------------------------------------------------------
@dataclass
class ModelSummary:
    ref: str
    cells: int
    finished: int
    median_ttft: float | None
    total_cost: float | None
    error_rate: float | None
    mean_length: float | None
    """Mean answer length in characters (answered cells)."""


def summarize(spec: MatrixSpec, states: dict[Cell, ColumnState]) -> list[ModelSummary]:
    """One summary per model column: median TTFT, total cost, error rate, mean answer length."""
    out = []
    for m, ref in enumerate(spec.models):
        column = [states[(r, m)] for r in range(len(spec.rows)) if (r, m) in states]
        finished = [s for s in column if s.status in (DONE, ERROR, PARTIAL)]
        ttfts = [s.ttft for s in finished if s.ttft is not None]
        costs = [s.cost for s in column if s.cost is not None]
        answered = [len(s.content) for s in finished if s.status != ERROR]
        errors = sum(1 for s in finished if s.status in (ERROR, PARTIAL))
        out.append(
            ModelSummary(
                ref=ref,
                cells=len(spec.rows),
                finished=len(finished),
                median_ttft=statistics.median(ttfts) if ttfts else None,
                total_cost=sum(costs) if costs else None,
                error_rate=errors / len(finished) if finished else None,
                mean_length=statistics.fmean(answered) if answered else None,
            )
        )
    return out


def matching_cells(
    spec: MatrixSpec,
    states: dict[Cell, ColumnState],
    *,
    models: Iterable[int] | None = None,
    statuses: Iterable[str] | None = None,
    text: str = "",
) -> list[Cell]:
    """Cells shown under the filters: model columns, statuses (``waiting`` for cells not run yet), words in the prompt or answer."""
    wanted_models = set(models) if models is not None else None
    wanted_status = set(statuses) if statuses is not None else None
    needle = text.strip().lower()
    out = []
    for cell in spec.all_cells():
        state = states.get(cell)
        status = state.status if state is not None else "waiting"
        if wanted_models is not None and cell[1] not in wanted_models:
            continue
        if wanted_status is not None and status not in wanted_status:
            continue
        if needle and needle not in spec.prompt(cell[0]).lower() and needle not in (state.content.lower() if state else ""):
            continue
        out.append(cell)
    return out


# -- runs alive in this process (a page reopened while its run still streams finds it) -------
_active: dict[str, MatrixRun] = {}
_active_lock = threading.Lock()


def active_run(run_id: str) -> MatrixRun | None:
    with _active_lock:
        return _active.get(run_id)
