"""Saved prompt sets, and matrix runs written cell by cell as they finish (same database as history).

``MatrixStore`` is a matrix run's recorder: the run (a ``runs`` row with its ``matrix_runs``
description) is written when it starts, and each cell becomes a ``run_results`` row — with the
messages sent and the reply — the moment it finishes, so a killed server loses no finished cell.
A run whose process died is marked ``interrupted`` at the next start and can be resumed.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from app.compare.conversation import restored_state
from app.compare.matrix import Cell, MatrixSpec
from app.compare.runner import STOPPED, ColumnState
from app.history.matrix_models import MatrixCellRow, MatrixRunRow, PromptSetRow
from app.history.models import Run, RunMessage, RunResult, utcnow
from app.history.store import HistoryStore, _owner, _pid_alive, _run_status

if TYPE_CHECKING:
    from app.compare.runner import CompareRun

MAX_SET_NAME = 200
CELL_COLUMNS = [
    getattr(RunResult, name)
    for name in (
        "backend",
        "model",
        "status",
        "content",
        "reasoning",
        "tool_calls",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "reasoning_tokens",
        "usage_estimated",
        "cost_usd",
        "endpoint_id",
        "finish_reason",
        "error_type",
        "error_message",
        "ttft_s",
        "total_s",
        "parameters",
    )
]
"""What a cell shows (``restored_state`` reads these)."""
_INSERT_RESULT = insert(RunResult.__table__)  # type: ignore[attr-defined]
_INSERT_MESSAGE = insert(RunMessage.__table__)  # type: ignore[attr-defined]
_INSERT_CELL = insert(MatrixCellRow.__table__)  # type: ignore[attr-defined]
"""Compiled once (parameters passed at execution), so saving a cell builds no statement."""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass
class StoredMatrix:
    """A matrix run read back: what it was, its status, and every saved cell."""

    run_id: str
    spec: MatrixSpec
    status: str
    created_at: datetime
    cells: dict[Cell, ColumnState]


class MatrixStore:
    def __init__(self, history: HistoryStore):
        self.history = history
        self.recover_interrupted()

    def session(self) -> Session:
        return self.history.session()

    # -- prompt sets ---------------------------------------------------------------------
    def list_sets(self) -> list[PromptSetRow]:
        with self.session() as s:
            return list(s.exec(select(PromptSetRow).order_by(col(PromptSetRow.name))).all())

    def get_set(self, set_id: int) -> PromptSetRow | None:
        with self.session() as s:
            return s.get(PromptSetRow, set_id)

    def save_set(
        self, name: str, template: str, system_prompt: str, columns: list[str], rows: list[dict[str, str]], *, set_id: int | None = None
    ) -> PromptSetRow:
        """Create a set (``set_id`` None) or overwrite one; raises ``ValueError`` for an empty or taken name."""
        name = " ".join(name.split())
        if not name:
            raise ValueError("give the prompt set a name")
        if len(name) > MAX_SET_NAME:
            raise ValueError(f"the name is too long ({len(name)} characters, at most {MAX_SET_NAME})")
        with self.session() as s:
            row = s.get(PromptSetRow, set_id) if set_id is not None else None
            if row is None:
                row = PromptSetRow(name=name)
            row.name = name
            row.template = self.history.scrub(template) or ""
            row.system_prompt = self.history.scrub(system_prompt) or None
            row.columns = _dumps(columns)
            row.rows = self.history.scrub(_dumps(rows)) or "[]"
            row.updated_at = utcnow()
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                raise ValueError(f"a prompt set named {name!r} already exists: pick another name") from None
            s.refresh(row)
            return row

    def delete_set(self, set_id: int) -> bool:
        with self.session() as s:
            deleted = s.exec(delete(PromptSetRow).where(col(PromptSetRow.id) == set_id))
            s.commit()
            return bool(deleted.rowcount)

    # -- recorder (called by CompareRun from worker threads) -----------------------------
    def run_started(self, run: CompareRun) -> None:
        spec: MatrixSpec = run.meta["matrix"]
        with self.session() as s:
            row = s.get(Run, run.id)
            if row is None:
                s.add(
                    Run(
                        id=run.id,
                        title=spec.title(),
                        user_prompt=self.history.scrub(spec.template or "\n".join(spec.prompt(r) for r in range(min(len(spec.rows), 20))))
                        or "",
                        system_prompt=self.history.scrub(spec.system_prompt) or None,
                        parameters=_dumps({"tools": [], "matrix": True, "columns": [{"ref": m, **spec.options()} for m in spec.models]}),
                        owner=_owner(),
                    )
                )
                s.flush()
                s.add(
                    MatrixRunRow(
                        run_id=run.id,
                        prompt_set_id=spec.prompt_set_id,
                        name=spec.name[:200],
                        template=self.history.scrub(spec.template) or "",
                        system_prompt=self.history.scrub(spec.system_prompt) or None,
                        columns=_dumps(spec.columns),
                        rows=self.history.scrub(_dumps(spec.rows)) or "[]",
                        models=_dumps(spec.models),
                        options=_dumps(spec.options()),
                        concurrency=spec.concurrency,
                        budget_usd=spec.budget_usd,
                        estimate_usd=spec.estimate_usd,
                        row_count=len(spec.rows),
                        model_count=len(spec.models),
                    )
                )
            else:  # resumed: this process owns it now
                row.status, row.owner, row.finished_at = "running", _owner(), None
                s.add(row)
                matrix = s.get(MatrixRunRow, run.id)
                if matrix is not None:
                    matrix.status = "running"
                    matrix.concurrency = spec.concurrency
                    s.add(matrix)
            s.commit()

    def column_progress(self, run: CompareRun, index: int, state: ColumnState) -> None:
        """Cells are saved when they finish (a cell cut off mid-stream is resent on resume)."""

    def column_finished(self, run: CompareRun, index: int, state: ColumnState) -> None:
        """Save a finished cell: its result row, the messages sent and the reply, and its link (one transaction)."""
        row_index, model_index = run.meta["cells"][index]
        spec: MatrixSpec = run.meta["matrix"]
        request = run.requests[index]
        result = RunResult(
            run_id=run.id,
            position=row_index * len(spec.models) + model_index,
            backend=request.backend,
            model=request.model,
            parameters=_dumps(request.options_summary()),
            status=state.status,
            finish_reason=state.finish_reason,
            cost_usd=state.cost,
            total_s=state.total,
            error_type=state.error_type,
            error_message=self.history.scrub(state.error_message),
            finished_at=utcnow(),
        )
        self.history._fill(result, state)
        sent = [*request.messages, state.reply] if state.reply is not None else request.messages
        # Core statements, not the ORM unit of work: a run writes hundreds of cells while it streams.
        with self.history.engine.begin() as conn:
            if (row_index, model_index) in run.meta.get("replacing", ()):
                old = conn.execute(
                    select(MatrixCellRow.id, MatrixCellRow.result_id).where(
                        MatrixCellRow.run_id == run.id, MatrixCellRow.row_index == row_index, MatrixCellRow.model_index == model_index
                    )
                ).first()
                if old is not None:  # a resent cell replaces its earlier answer
                    if state.status == STOPPED and not state.content:
                        return  # stopped before it was sent again: keep what was there
                    conn.execute(delete(RunMessage).where(col(RunMessage.result_id) == old.result_id))
                    conn.execute(delete(MatrixCellRow).where(col(MatrixCellRow.id) == old.id))
                    conn.execute(delete(RunResult).where(col(RunResult.id) == old.result_id))
            inserted = conn.execute(_INSERT_RESULT, result.model_dump(exclude={"id"})).inserted_primary_key
            assert inserted is not None  # a single-row INSERT always has one
            result_id = inserted[0]
            messages = [m.model_dump(exclude={"id"}) for m in self.history._message_rows(result_id, sent)]
            if messages:
                conn.execute(_INSERT_MESSAGE, messages)
            conn.execute(_INSERT_CELL, {"run_id": run.id, "row_index": row_index, "model_index": model_index, "result_id": result_id})

    def run_finished(self, run: CompareRun) -> None:
        with self.session() as s:
            row = s.get(Run, run.id)
            matrix = s.get(MatrixRunRow, run.id)
            if row is None or matrix is None:
                return
            statuses = list(s.exec(select(RunResult.status).where(RunResult.run_id == run.id)).all())
            complete = len(statuses) == matrix.row_count * matrix.model_count and STOPPED not in statuses
            matrix.status = "done" if complete else "stopped"
            row.status = _run_status(statuses) if complete else "partial"
            row.finished_at = utcnow()
            s.add_all([row, matrix])
            s.commit()

    def recover_interrupted(self) -> int:
        """Mark matrix runs whose process died ``interrupted`` (resumable); returns how many."""
        host = socket.gethostname()
        fixed = 0
        with self.session() as s:
            rows = s.exec(
                select(MatrixRunRow, Run).join(Run, col(Run.id) == col(MatrixRunRow.run_id)).where(MatrixRunRow.status == "running")
            ).all()
            for matrix, run in rows:
                owner_host, _, pid = run.owner.rpartition(":")
                if owner_host != host or not pid.isdigit() or _pid_alive(int(pid)):
                    continue
                matrix.status = "interrupted"
                run.status = "partial"
                s.add_all([matrix, run])
                fixed += 1
            s.commit()
        return fixed

    # -- reading -------------------------------------------------------------------------
    def load(self, run_id: str) -> StoredMatrix | None:
        """A matrix run with every saved cell (one query for the cells; no messages)."""
        with self.session() as s:
            found = s.exec(
                select(MatrixRunRow, Run).join(Run, col(Run.id) == col(MatrixRunRow.run_id)).where(MatrixRunRow.run_id == run_id)
            ).first()
            if found is None:
                return None
            matrix, run = found
            # Plain columns, not ORM objects: a 1,000-cell run loads in one light query.
            cells = s.exec(
                select(MatrixCellRow.row_index, MatrixCellRow.model_index, *CELL_COLUMNS)
                .join(RunResult, col(RunResult.id) == col(MatrixCellRow.result_id))
                .where(MatrixCellRow.run_id == run_id)
            ).all()
        options = json.loads(matrix.options or "{}")
        spec = MatrixSpec(
            models=json.loads(matrix.models),
            rows=json.loads(matrix.rows),
            template=matrix.template,
            columns=json.loads(matrix.columns),
            system_prompt=matrix.system_prompt or "",
            temperature=options.get("temperature"),
            max_tokens=options.get("max_tokens"),
            concurrency=matrix.concurrency,
            name=matrix.name,
            prompt_set_id=matrix.prompt_set_id,
            budget_usd=matrix.budget_usd,
            estimate_usd=matrix.estimate_usd,
        )
        states = {}
        result: Any
        for result in cells:
            row_index, model_index = result.row_index, result.model_index
            tool_calls = json.loads(result.tool_calls) if result.tool_calls else []
            state = restored_state(result, tool_calls, None)
            state.status = result.status  # restored_state maps a left-running stream to partial; cells are saved finished
            states[(row_index, model_index)] = state
        return StoredMatrix(run_id, spec, matrix.status, run.created_at, states)

    def recent_runs(self, limit: int = 20) -> list[tuple[MatrixRunRow, Run]]:
        with self.session() as s:
            return list(
                s.exec(
                    select(MatrixRunRow, Run)
                    .join(Run, col(Run.id) == col(MatrixRunRow.run_id))
                    .order_by(col(Run.created_at).desc())
                    .limit(limit)
                ).all()
            )


_stores: dict[int, MatrixStore] = {}
_stores_lock = threading.Lock()


def matrix_store(history: HistoryStore) -> MatrixStore:
    """The process's ``MatrixStore`` over ``history`` (interrupted runs are marked once, on first use)."""
    with _stores_lock:
        store = _stores.get(id(history))
        if store is None or store.history is not history:
            store = _stores[id(history)] = MatrixStore(history)
        return store
