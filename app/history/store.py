"""Write runs as they happen and read them back: search, open, delete, dashboard rows.

``HistoryStore`` is the compare runner's recorder: the run and a row per model are written when
the run starts, partial output is written while it streams, and each row is completed when its
stream ends, so a crash or a failed stream keeps what arrived. Text is scrubbed of known secrets
before it is written; API keys are never stored.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from app.history import migrate
from app.history.database import create_history_engine
from app.history.judgment_models import Rating, Vote
from app.history.matrix_views import MatrixInfo, attach_matrix
from app.history.models import Run, RunMessage, RunResult, utcnow
from app.history.run_queries import count_runs, distinct_values, run_conditions

if TYPE_CHECKING:
    from app.compare.runner import ColumnState, CompareRun

Scrub = Callable[[str | None], str | None]
INTERRUPTED = "interrupted: the playground stopped before this stream finished"


@dataclass
class ResultView:
    result: RunResult
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The conversation sent, then the reply (OpenAI format)."""

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return json.loads(self.result.tool_calls) if self.result.tool_calls else []

    @property
    def parameters(self) -> dict[str, Any]:
        return json.loads(self.result.parameters or "{}")


@dataclass
class RunView:
    run: Run
    results: list[ResultView] = field(default_factory=list)
    matrix: MatrixInfo | None = None
    """Set when the run is a matrix run (prompts × models); its results are the cells."""

    @property
    def parameters(self) -> dict[str, Any]:
        return json.loads(self.run.parameters or "{}")

    @property
    def total_cost(self) -> float | None:
        costs = [r.result.cost_usd for r in self.results if r.result.cost_usd is not None]
        return sum(costs) if costs else None


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _run_status(statuses: Iterable[str]) -> str:
    statuses = list(statuses)
    if any(s == "running" for s in statuses):
        return "running"
    if statuses and all(s == "done" for s in statuses):
        return "done"
    if statuses and all(s == "error" for s in statuses):
        return "error"
    return "partial"


class HistoryStore:
    def __init__(self, url: str, *, scrub: Scrub | None = None):
        self.url = url
        self.scrub: Scrub = scrub or (lambda text: text)
        self.engine = create_history_engine(url)
        self._writes = 0
        """Writes made through this store (see :meth:`version`)."""
        migrate.upgrade(self.engine)
        self.recover_interrupted()

    def version(self) -> tuple[Any, ...]:
        """A cheap fingerprint of the history, for caching what is read from it: changes with
        every write made through this store, and with other processes' new runs, finished
        results and deletions (a few index look-ups and an index-only count, no table scan)."""
        # One scalar subquery per aggregate: a query holding two MAX()es scans the table (SQLite).
        query = select(
            select(func.count()).select_from(Run).scalar_subquery(),
            select(func.max(RunResult.id)).scalar_subquery(),
            select(func.max(RunResult.finished_at)).scalar_subquery(),
        )
        with self.engine.connect() as conn:
            runs, last_id, finished = conn.execute(query).one()
        return (self._writes, int(runs), last_id, str(finished))

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def journal_mode(self) -> str | None:
        """SQLite's journal mode (``wal``); None on other databases."""
        if not self.url.startswith("sqlite"):
            return None
        with self.engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())

    # -- recorder (called by CompareRun from worker threads) -----------------------------
    def _message_rows(self, result_id: int, messages: Sequence[dict[str, Any]], start: int = 0) -> list[RunMessage]:
        return [
            RunMessage(result_id=result_id, position=start + i, role=str(m.get("role", "")), body=self.scrub(_dumps(m)) or "{}")
            for i, m in enumerate(messages)
        ]

    def run_started(self, run: CompareRun) -> None:
        self._writes += 1
        meta = run.meta
        prompt = meta.get("user_prompt") or ""
        with self.session() as s:
            s.add(
                Run(
                    id=run.id,
                    title=(prompt.strip().splitlines() or ["(no prompt)"])[0][:200],
                    user_prompt=self.scrub(prompt) or "",
                    system_prompt=self.scrub(meta.get("system_prompt")) or None,
                    image_count=int(meta.get("image_count") or 0),
                    parameters=_dumps({"tools": meta.get("tools") or [], "columns": [r.options_summary() for r in run.requests]}),
                    parent_id=meta.get("parent_id"),
                    owner=_owner(),
                )
            )
            s.flush()
            for position, request in enumerate(run.requests):
                result = RunResult(
                    run_id=run.id,
                    position=position,
                    backend=request.backend,
                    model=request.model,
                    parameters=_dumps(request.options_summary()),
                )
                s.add(result)
                s.flush()
                assert result.id is not None
                s.add_all(self._message_rows(result.id, request.messages))
            s.commit()

    def _result(self, s: Session, run_id: str, index: int) -> RunResult | None:
        return s.exec(select(RunResult).where(RunResult.run_id == run_id, RunResult.position == index)).first()

    def _fill(self, result: RunResult, state: ColumnState) -> None:
        result.content = self.scrub(state.content) or ""
        result.reasoning = self.scrub(state.reasoning) or None
        result.tool_calls = self.scrub(_dumps(state.tool_calls)) if state.tool_calls else None
        result.endpoint_id = state.endpoint_id
        if state.usage:
            result.prompt_tokens = state.usage.get("prompt_tokens")
            result.completion_tokens = state.usage.get("completion_tokens")
            result.cached_tokens = state.usage.get("cached_tokens")
            result.reasoning_tokens = state.usage.get("reasoning_tokens")
        result.usage_estimated = state.usage_estimated
        result.ttft_s = state.ttft
        if state.request_report is not None:  # kept in the row's parameters JSON: no schema change
            result.parameters = _dumps({**json.loads(result.parameters or "{}"), "request_report": state.request_report})

    def column_progress(self, run: CompareRun, index: int, state: ColumnState) -> None:
        self._writes += 1
        with self.session() as s:
            result = self._result(s, run.id, index)
            if result is None or result.status != "running":
                return
            self._fill(result, state)
            s.add(result)
            s.commit()

    def column_finished(self, run: CompareRun, index: int, state: ColumnState) -> None:
        self._writes += 1
        with self.session() as s:
            result = self._result(s, run.id, index)
            if result is None:
                return
            self._fill(result, state)
            result.status = state.status
            result.finish_reason = state.finish_reason
            result.cost_usd = state.cost
            result.total_s = state.total
            result.error_type = state.error_type
            result.error_message = self.scrub(state.error_message)
            result.finished_at = utcnow()
            s.add(result)
            if state.reply is not None:
                assert result.id is not None
                count = s.exec(select(func.count()).select_from(RunMessage).where(RunMessage.result_id == result.id)).one()
                s.add_all(self._message_rows(result.id, [state.reply], start=int(count)))
            s.commit()

    def run_finished(self, run: CompareRun) -> None:
        self._writes += 1
        with self.session() as s:
            row = s.get(Run, run.id)
            if row is None:
                return
            statuses = s.exec(select(RunResult.status).where(RunResult.run_id == run.id)).all()
            row.status = _run_status(statuses)
            row.finished_at = utcnow()
            s.add(row)
            s.commit()

    def recover_interrupted(self) -> int:
        """Mark streams a dead process left ``running`` as partial (their text so far is kept)."""
        host = socket.gethostname()
        fixed = 0
        with self.session() as s:
            runs = s.exec(select(Run).where(Run.status == "running")).all()
            for run in runs:
                owner_host, _, pid = run.owner.rpartition(":")
                if owner_host != host or not pid.isdigit() or _pid_alive(int(pid)):
                    continue
                results = s.exec(select(RunResult).where(RunResult.run_id == run.id)).all()
                for result in results:
                    if result.status == "running":
                        result.status = "partial" if result.content or result.reasoning else "error"
                        result.error_type = result.error_type or "Interrupted"
                        result.error_message = INTERRUPTED
                        s.add(result)
                        fixed += 1
                run.status = _run_status(r.status for r in results)
                s.add(run)
            s.commit()
        self._writes += 1
        return fixed

    # -- reading -------------------------------------------------------------------------
    def search(
        self,
        text: str | None = None,
        models: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        limit: int | None = 50,
        offset: int = 0,
        where: Any = None,
    ) -> list[RunView]:
        """Runs matching every given filter, newest first (``start``/``end`` are aware datetimes;
        ``where`` an extra SQL condition on ``runs``, e.g. a rating filter); ``limit`` None: all.
        Only the rows asked for are read (see ``app.history.run_queries``)."""
        query = (
            select(Run)
            .where(*run_conditions(text, models, start, end, where))
            .order_by(col(Run.created_at).desc(), col(Run.id).desc())
            .offset(offset)
            .limit(limit)
        )
        with self.session() as s:
            runs = list(s.exec(query).all())
        return self._views(runs)

    def count(
        self,
        text: str | None = None,
        models: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        where: Any = None,
        *,
        at_most: int | None = None,
    ) -> int:
        """How many runs match (the filters of :meth:`search`); with ``at_most``, counting stops
        there: a long history's count costs no more than the cap."""
        with self.session() as s:
            return count_runs(s, text, models, start, end, where, at_most=at_most)

    def get(self, run_id: str) -> RunView | None:
        with self.session() as s:
            run = s.get(Run, run_id)
        return self._views([run])[0] if run is not None else None

    def get_many(self, run_ids: Sequence[str]) -> list[RunView]:
        with self.session() as s:
            runs = list(s.exec(select(Run).where(col(Run.id).in_(list(run_ids))).order_by(col(Run.created_at).desc())).all())
        return self._views(runs)

    def _views(self, runs: list[Run]) -> list[RunView]:
        if not runs:
            return []
        ids = [r.id for r in runs]
        with self.session() as s:
            results = s.exec(select(RunResult).where(col(RunResult.run_id).in_(ids)).order_by(col(RunResult.position))).all()
            result_ids = [r.id for r in results]
            messages = (
                s.exec(select(RunMessage).where(col(RunMessage.result_id).in_(result_ids)).order_by(col(RunMessage.position))).all()
                if result_ids
                else []
            )
        by_result: dict[int, list[dict[str, Any]]] = {}
        for message in messages:
            by_result.setdefault(message.result_id, []).append(json.loads(message.body))
        by_run: dict[str, list[ResultView]] = {}
        for result in results:
            by_run.setdefault(result.run_id, []).append(ResultView(result, by_result.get(result.id or -1, [])))
        views = [RunView(run, by_run.get(run.id, [])) for run in runs]
        with self.session() as s:
            attach_matrix(s, views)
        return views

    def model_names(self) -> list[str]:
        """Every model with a result in the history, sorted (a few index look-ups)."""
        with self.session() as s:
            return sorted(str(m) for m in distinct_values(s, col(RunResult.model)))  # in Python's order, whatever the collation

    def delete(self, run_ids: Sequence[str]) -> int:
        """Delete runs with their results, messages, ratings and votes; returns how many runs were deleted."""
        ids = list(run_ids)
        if not ids:
            return 0
        self._writes += 1
        with self.session() as s:
            result_ids = select(RunResult.id).where(col(RunResult.run_id).in_(ids))
            s.exec(delete(Vote).where(col(Vote.run_id).in_(ids)))
            s.exec(delete(Rating).where(col(Rating.run_id).in_(ids)))
            s.exec(delete(RunMessage).where(col(RunMessage.result_id).in_(result_ids)))
            s.exec(delete(RunResult).where(col(RunResult.run_id).in_(ids)))
            deleted = s.exec(delete(Run).where(col(Run.id).in_(ids)))
            s.commit()
            return int(deleted.rowcount or 0)
