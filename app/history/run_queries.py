"""The SQL behind History's list: filters as conditions on ``runs``, counts that stop early,
distinct values read from an index. SQLite and PostgreSQL alike (SQLAlchemy Core).

Written so that a page costs what it shows, not what is stored: the model filter is a correlated
``EXISTS`` (the newest runs are walked through ``ix_runs_created_at`` and each is checked with one
look-up in ``ix_run_results_model_run``, until the page is full) rather than ``IN (every run with
the model)``, which SQLite builds in full before taking 20; a count may stop at a cap; the model
list skips through the index instead of reading all of it. Searching words still reads every
prompt and answer (there is no text index): its cost grows with the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from app.history.models import Run, RunResult


def run_conditions(
    text: str | None, models: Sequence[str] | None, start: datetime | None, end: datetime | None, where: Any = None
) -> list[ColumnElement[bool]]:
    """Conditions on ``runs`` for History's filters: words in the prompts or an answer (any case,
    taken literally), any of ``models``, created in ``[start, end)``, and ``where`` (e.g. a rating filter)."""
    conditions: list[ColumnElement[bool]] = []
    if where is not None:
        conditions.append(where)
    if start is not None:
        conditions.append(col(Run.created_at) >= start)
    if end is not None:
        conditions.append(col(Run.created_at) < end)
    if models:
        conditions.append(has_result(col(RunResult.model).in_(list(models))))
    if text and text.strip():
        needle = text.strip().lower()
        conditions.append(
            or_(
                func.lower(Run.user_prompt).contains(needle, autoescape=True),
                func.lower(func.coalesce(Run.system_prompt, "")).contains(needle, autoescape=True),
                # IN, not EXISTS: words are found by reading every answer once either way (no text
                # index), and one pass over the table beats a look-up per run when few runs match.
                col(Run.id).in_(
                    select(col(RunResult.run_id)).where(
                        or_(
                            func.lower(RunResult.content).contains(needle, autoescape=True),
                            func.lower(RunResult.model).contains(needle, autoescape=True),
                        )
                    )
                ),
            )
        )
    return conditions


def has_result(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """The run has a result matching ``condition`` (correlated ``EXISTS``: one index look-up per run)."""
    return select(col(RunResult.id)).where(col(RunResult.run_id) == col(Run.id), condition).exists()


def count_runs(
    session: Session,
    text: str | None,
    models: Sequence[str] | None,
    start: datetime | None,
    end: datetime | None,
    where: Any = None,
    *,
    at_most: int | None = None,
) -> int:
    """How many runs match; with ``at_most``, counting stops there (the answer is then ``at_most``
    for any number of runs at or above it)."""
    if models and not (text and text.strip()) and start is None and end is None and where is None:
        # Only a model filter: distinct runs straight from (model, run_id), no run row read.
        matching = select(col(RunResult.run_id)).where(col(RunResult.model).in_(list(models))).distinct()
    else:
        matching = select(col(Run.id)).where(*run_conditions(text, models, start, end, where))
    if at_most is not None:
        matching = matching.limit(at_most)
    return int(session.execute(select(func.count()).select_from(matching.subquery())).scalar_one())


def distinct_values(connection: Connection | Session, column: Any) -> list[Any]:
    """The distinct non-null values of an indexed ``column``, in the index's order: a recursive query that
    jumps from each value to the next through the index (a look-up per value, not a scan of
    every row, on SQLite and PostgreSQL alike)."""
    first = select(func.min(column).label("value")).cte("distinct_values", recursive=True)
    following = select(select(func.min(column)).where(column > first.c.value).scalar_subquery()).where(first.c.value.is_not(None))
    values = first.union_all(following)
    rows = connection.execute(select(values.c.value).where(values.c.value.is_not(None)))
    return [value for (value,) in rows]
