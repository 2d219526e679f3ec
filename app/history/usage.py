"""Usage numbers aggregated in the database: what the Usage page shows costs what it shows.

Every query is limited to a window of local days (and optionally some models), reaches the
window's results through the runs' date index, and returns one row per day × backend × model ×
endpoint (sums), a count, or the latest failures; medians, box plots and the count of runs are
computed from the window's calls read once in compact columns. Time and memory follow the window,
not the size of the history; the whole-history reads (date span, model list, demo share) are
index look-ups. Written with SQLAlchemy Core for SQLite and PostgreSQL alike; the one
dialect-specific piece (the local day of a timestamp) is switched by dialect in :class:`local_day`.

"Local" follows the playground's convention: the machine's current UTC offset.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import String, and_, case, exists, func, or_, select, true
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from app.history.models import Run, RunResult
from app.history.run_queries import distinct_values
from vv_llm.testing.demo import DEMO_ANTHROPIC_ENDPOINT_ID, DEMO_ENDPOINT_ID

FAILED = ("error", "partial")
"""Statuses that count as errors (a stopped stream was the user's choice)."""
GROUP_COLUMNS = ["day", "backend", "model", "endpoint"]
SUM_COLUMNS = ["calls", "failed", "input_tokens", "output_tokens", "cached_tokens", "cost_usd", "cost_calls"]

_runs = Run.__table__  # type: ignore[attr-defined]
_results = RunResult.__table__  # type: ignore[attr-defined]


class local_day(FunctionElement[str]):
    """``YYYY-MM-DD`` of a stored (naive UTC) timestamp shifted by ``minutes``."""

    type = String()
    inherit_cache = True
    name = "local_day"

    def __init__(self, column: Any, minutes: int):
        self.minutes = int(minutes)
        super().__init__(column)


@compiles(local_day)
def _local_day_default(element: local_day, compiler: Any, **kw: Any) -> str:  # PostgreSQL and others
    column = compiler.process(element.clauses, **kw)
    # Stored as timestamptz: read in UTC, whatever the session's time zone, then shifted.
    return f"to_char(({column} AT TIME ZONE 'UTC') + make_interval(mins => {element.minutes}), 'YYYY-MM-DD')"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"date({column}, '{element.minutes:+d} minutes')"


def local_offset_minutes() -> int:
    offset = datetime.now().astimezone().utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


@dataclass(frozen=True)
class UsageWindow:
    """Local days ``start``..``end`` (inclusive; None: unbounded) and the models (empty: all)."""

    start: date | None = None
    end: date | None = None
    models: tuple[str, ...] = ()
    offset_minutes: int = 0
    """The local UTC offset the days are in."""
    exclude_simulated: bool = False
    """Leave out calls answered by the built-in demo models (their costs are made up)."""

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The window as aware UTC timestamps, end exclusive."""
        zone = timezone(timedelta(minutes=self.offset_minutes))
        start = datetime.combine(self.start, time.min, tzinfo=zone) if self.start else None
        end = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone) if self.end else None
        return start, end

    def where(self) -> list[ColumnElement[bool]]:
        start, end = self.bounds()
        clauses: list[ColumnElement[bool]] = [_results.c.run_id == _runs.c.id]
        if start is not None:
            clauses.append(_runs.c.created_at >= start)
        if end is not None:
            clauses.append(_runs.c.created_at < end)
        if self.models:
            # An expression, not the indexed column: the planner keeps reaching the results
            # through the window's runs (a date range) instead of walking every result of the
            # model over the whole history (SQLite has no statistics to know better).
            clauses.append(func.coalesce(_results.c.model, "").in_(list(self.models)))
        if self.exclude_simulated:
            clauses.append(~_simulated())
        return clauses


SIMULATED_ENDPOINTS = (DEMO_ENDPOINT_ID, DEMO_ANTHROPIC_ENDPOINT_ID)
"""Calls through these endpoints were answered by the built-in demo models: their costs are made up."""


def _simulated() -> ColumnElement[bool]:
    """A call the demo models answered: through a demo endpoint, or (failed before any endpoint
    answered) a ``demo-`` model on a demo backend."""
    # IS NOT NULL spelled out: without it a call with no endpoint would be neither simulated nor
    # not (SQL NULL), and leaving demo calls out would leave it out too.
    through_demo = and_(_results.c.endpoint_id.is_not(None), _results.c.endpoint_id.in_(SIMULATED_ENDPOINTS))
    return or_(through_demo, _nameless_demo())


def _nameless_demo() -> ColumnElement[bool]:
    return and_(
        _results.c.endpoint_id.is_(None),
        _results.c.backend.in_(["local", "anthropic"]),
        _results.c.model.startswith("demo-", autoescape=True),
    )


def simulated_calls(engine: Engine) -> tuple[int, int]:
    """How many calls in the whole history the demo models answered, and how many calls there are.

    Each part is its own count, so each reads only its calls from ``ix_run_results_endpoint``
    (one ``CASE`` over every row would scan the table); the total comes from the smallest index."""
    through_demo = _results.c.endpoint_id.in_(SIMULATED_ENDPOINTS)
    counts = [
        select(func.count()).select_from(_results).where(condition).scalar_subquery()
        for condition in (true(), through_demo, _nameless_demo())
    ]
    with engine.connect() as conn:
        total, through_endpoint, nameless = conn.execute(select(*counts)).one()
    return int(through_endpoint) + int(nameless), int(total)


def _failed() -> ColumnElement[int]:
    return case((_results.c.status.in_(FAILED), 1), else_=0)


def _endpoint() -> ColumnElement[str]:
    return func.coalesce(_results.c.endpoint_id, "(none)")


def groups(engine: Engine, window: UsageWindow) -> pd.DataFrame:
    """Calls, failures, tokens and cost per local day × backend × model × endpoint."""
    day = local_day(_runs.c.created_at, window.offset_minutes).label("day")
    endpoint = _endpoint().label("endpoint")
    query = (
        select(
            day,
            _results.c.backend,
            _results.c.model,
            endpoint,
            func.count().label("calls"),
            func.sum(_failed()).label("failed"),
            func.sum(func.coalesce(_results.c.prompt_tokens, 0)).label("input_tokens"),
            func.sum(func.coalesce(_results.c.completion_tokens, 0)).label("output_tokens"),
            func.sum(func.coalesce(_results.c.cached_tokens, 0)).label("cached_tokens"),
            func.sum(_results.c.cost_usd).label("cost_usd"),
            func.count(_results.c.cost_usd).label("cost_calls"),
        )
        .select_from(_runs.join(_results, _results.c.run_id == _runs.c.id))
        .where(*window.where()[1:])
        .group_by(day, _results.c.backend, _results.c.model, endpoint)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=GROUP_COLUMNS + SUM_COLUMNS)
    frame["day"] = pd.to_datetime(frame["day"])
    for column in ("calls", "failed", "input_tokens", "output_tokens", "cached_tokens", "cost_calls"):
        frame[column] = pd.to_numeric(frame[column]).fillna(0).astype("int64")
    frame["cost_usd"] = pd.to_numeric(frame["cost_usd"]).astype("float64")
    return frame


def distinct_runs(engine: Engine, window: UsageWindow) -> int:
    """Runs in the window with a result (of one of the window's models). (The Usage page counts
    them in :func:`read_calls`' rows instead, which also leave out demo calls when asked.)"""
    start, end = window.bounds()
    has_result = exists().where(_results.c.run_id == _runs.c.id)
    if window.models:
        has_result = has_result.where(_results.c.model.in_(list(window.models)))
    query = select(func.count()).select_from(_runs).where(has_result)
    if start is not None:
        query = query.where(_runs.c.created_at >= start)
    if end is not None:
        query = query.where(_runs.c.created_at < end)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


@dataclass(frozen=True)
class Series:
    """Quantiles of ``value`` (``ttft_s`` or ``total_s``) per ``by`` (``model``, ``backend``,
    ``endpoint``; None: over all rows), over non-null values (of completed calls only with
    ``done_only``)."""

    name: str
    value: str
    by: str | None
    points: tuple[float, ...] = (0.5,)
    done_only: bool = False


def quantiles(engine: Engine, window: UsageWindow, series: Sequence[Series], calls: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Each series' quantiles (linear interpolation, as pandas and Vega-Lite compute them).

    Order statistics need the values themselves: the window's latencies are read once, in
    batches, as compact columns (~30 bytes a call; the window's size, never the history's), and
    every series is computed from them. (Ranking in SQL with window functions was tried: each
    series costs a sort of the whole window there, 2-3x this whole read.) Series over the same
    rows and ``by`` share one grouping.

    → ``{series name: frame}``, columns ``by`` (if any), ``calls``, then one per point
    (``min``, ``q1``, ``median``, ``q3``, ``max``). Pass ``calls`` (from :func:`read_calls`)
    to compute from a read already made."""
    frame = calls if calls is not None else read_calls(engine, window)
    done = frame[frame["done"]]
    groupings: dict[tuple[str | None, bool], Any] = {}
    out = {}
    for item in series:
        names = [_point_name(p) for p in item.points]
        columns = ([item.by] if item.by else []) + ["calls"] + names
        rows = done if item.done_only else frame
        if item.by is None:
            values = rows[item.value].dropna()
            if values.empty:
                out[item.name] = pd.DataFrame(columns=columns)
                continue
            # Series.median is pandas' median exactly (quantile(0.5) may differ in the last bit).
            table = pd.DataFrame(
                {"calls": [len(values)]}
                | {name: [values.median() if p == 0.5 else values.quantile(p)] for p, name in zip(item.points, names, strict=True)}
            )
            out[item.name] = table[columns]
            continue
        key = (item.by, item.done_only)
        if key not in groupings:
            # By column name: a Series as the key makes pandas format it (~6 ms) to check it is a column.
            groupings[key] = rows[[item.by, "ttft_s", "total_s"]].groupby(item.by, observed=True)
        grouped = groupings[key][item.value]
        table = pd.DataFrame({"calls": grouped.count()})
        for point, name in zip(item.points, names, strict=True):
            table[name] = grouped.median() if point == 0.5 else grouped.quantile(point)  # median: exactly pandas' median
        table = table[table["calls"] > 0]  # groups whose calls all lack this latency
        if table.empty:
            out[item.name] = pd.DataFrame(columns=columns)
            continue
        out[item.name] = table.reset_index(names=item.by)[columns]
    return out


def read_calls(engine: Engine, window: UsageWindow) -> pd.DataFrame:
    """The window's calls, one row each: model, backend, endpoint (categories), done, ttft_s,
    total_s (NaN where the call has none); ``attrs["runs"]``: how many runs they belong to. Read
    once for the latency quantiles and the count of runs (the window's size, never the history's)."""
    query = (
        select(
            _results.c.run_id,
            _results.c.model,
            _results.c.backend,
            _endpoint().label("endpoint"),
            (_results.c.status == "done").label("done"),
            _results.c.ttft_s,
            _results.c.total_s,
        )
        .select_from(_runs.join(_results, _results.c.run_id == _runs.c.id))
        .where(*window.where()[1:])
    )
    columns: list[list[Any]] = [[] for _ in range(7)]
    with engine.connect() as conn, collector_paused():
        result = conn.execute(query)
        # The driver's plain tuples, column by column: SQLAlchemy's rows cost ~6 µs a row here
        # (the values need no conversion: strings, a 0/1 or boolean, floats or NULL). Not
        # stream_results: its buffer would take the first rows before this reads the cursor.
        cursor = result.cursor
        while batch := cursor.fetchmany(20_000):
            for column, values in zip(columns, zip(*batch, strict=True), strict=True):
                column.extend(values)
        result.close()
    frame = pd.DataFrame(
        {
            "model": pd.Categorical(columns[1]),
            "backend": pd.Categorical(columns[2]),
            "endpoint": pd.Categorical(columns[3]),
            "done": np.array(columns[4], dtype=bool),
            # NULL (no latency) becomes NaN.
            "ttft_s": np.array(columns[5], dtype="float64"),
            "total_s": np.array(columns[6], dtype="float64"),
        }
    )
    frame.attrs["runs"] = len(set(columns[0]))
    return frame


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's garbage collector off for a bulk read and what is computed from it: its ~200,000
    new objects (row tuples, strings; none in a cycle) would otherwise trigger a collection every
    700 allocations and, now and then, a walk of the page's whole heap (~50 ms of a 30-day read at
    100,000 runs, as much again in the pandas work after it). Cycles made meanwhile are collected
    once it ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _point_name(point: float) -> str:
    return {0.0: "min", 0.25: "q1", 0.5: "median", 0.75: "q3", 1.0: "max"}.get(point, f"p{point * 100:g}")


def recent_failures(engine: Engine, window: UsageWindow, limit: int = 20) -> pd.DataFrame:
    """The latest failed calls: when, model, endpoint, status, error type."""
    query = (
        select(_runs.c.created_at, _results.c.model, _endpoint().label("endpoint"), _results.c.status, _results.c.error_type)
        .select_from(_runs.join(_results, _results.c.run_id == _runs.c.id))
        .where(*window.where()[1:], _results.c.status.in_(FAILED))
        .order_by(_runs.c.created_at.desc(), _results.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=["created_at", "model", "endpoint", "status", "error_type"])
    local = pd.to_datetime(frame["created_at"], utc=True).dt.tz_localize(None) + pd.Timedelta(minutes=window.offset_minutes)
    frame["created_at"] = local
    return frame


def span(engine: Engine, offset_minutes: int) -> tuple[date, date] | None:
    """The first and last local day with a run (two index look-ups), or None for no runs."""
    # Two scalar subqueries, not MIN and MAX in one SELECT: SQLite answers a lone MIN or MAX from
    # the index's ends, but scans the whole index for the pair.
    first_run = select(func.min(_runs.c.created_at)).scalar_subquery()
    last_run = select(func.max(_runs.c.created_at)).scalar_subquery()
    with engine.connect() as conn:
        first, last = conn.execute(select(first_run, last_run)).one()
    if first is None:
        return None
    zone = timezone(timedelta(minutes=offset_minutes))
    return first.astimezone(zone).date(), last.astimezone(zone).date()


def model_names(engine: Engine) -> list[str]:
    """Every model with a result, sorted (skipping through the model index: a look-up per model)."""
    with engine.connect() as conn:
        return sorted(distinct_values(conn, _results.c.model))


__all__ = [
    "FAILED",
    "UsageWindow",
    "collector_paused",
    "distinct_runs",
    "groups",
    "local_day",
    "local_offset_minutes",
    "model_names",
    "quantiles",
    "read_calls",
    "recent_failures",
    "span",
]
