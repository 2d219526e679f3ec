"""The Usage page's numbers, from the aggregates the database computes (``app.history.usage``).

``load`` runs the window's queries; the other functions shape their small results for the page:
per day, per backend/model/endpoint, latency boxes, errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from app.history import usage
from app.history.usage import Series, UsageWindow

DIMENSIONS = {"Model": "model", "Backend": "backend", "Endpoint": "endpoint"}
BOX = (0.0, 0.25, 0.5, 0.75, 1.0)
METRICS = {"ttft_s": "time to first token", "total_s": "total time"}


@dataclass
class Usage:
    """Everything the Usage page shows for one window (all small: rows per group, not per call)."""

    groups: pd.DataFrame
    """Per local day × backend × model × endpoint: calls, failed, tokens, cost."""
    runs: int
    median_ttft: float | None
    boxes: pd.DataFrame
    """Per model and metric, completed calls: min, q1, median, q3, max."""
    errors: pd.DataFrame
    medians: dict[str, pd.DataFrame]
    """Per dimension (model, backend, endpoint): median TTFT and total time of all calls with one."""

    @property
    def empty(self) -> bool:
        return self.groups.empty


def load(engine: Engine, window: UsageWindow) -> Usage:
    """The window's numbers: sums in SQL; the latency quantiles and the count of runs from one read of its calls."""
    with usage.collector_paused():
        return _load(engine, window)


def _load(engine: Engine, window: UsageWindow) -> Usage:
    calls = usage.read_calls(engine, window)
    series = [
        Series("kpi", "ttft_s", None),
        Series("ttft_s", "ttft_s", "model", BOX, done_only=True),
        Series("total_s", "total_s", "model", BOX, done_only=True),
    ]
    for dimension in DIMENSIONS.values():
        series += [Series(f"{dimension} ttft", "ttft_s", dimension), Series(f"{dimension} total", "total_s", dimension)]
    found = usage.quantiles(engine, window, series, calls)
    kpi = found["kpi"]
    medians = {}
    for dimension in DIMENSIONS.values():
        ttft = found[f"{dimension} ttft"][[dimension, "median"]].rename(columns={"median": "median_ttft_s"})
        total = found[f"{dimension} total"][[dimension, "median"]].rename(columns={"median": "median_total_s"})
        medians[dimension] = ttft.merge(total, on=dimension, how="outer")
    return Usage(
        groups=usage.groups(engine, window),
        runs=int(calls.attrs["runs"]),
        median_ttft=float(kpi["median"].iloc[0]) if len(kpi) else None,
        boxes=pd.concat([found[m].assign(metric=label) for m, label in METRICS.items()], ignore_index=True),
        errors=usage.recent_failures(engine, window),
        medians=medians,
    )


def kpis(data: Usage) -> dict[str, Any]:
    g = data.groups
    calls = int(g["calls"].sum())
    return {
        "runs": data.runs,
        "calls": calls,
        "tokens": int(g["input_tokens"].sum() + g["output_tokens"].sum()),
        "cost": float(g["cost_usd"].sum()) if g["cost_calls"].sum() else None,
        "median_ttft": data.median_ttft,
        "error_rate": float(g["failed"].sum() / calls) if calls else None,
    }


def daily(groups: pd.DataFrame) -> pd.DataFrame:
    """Per day and model: input/output/cached tokens, cost, calls."""
    grouped = groups.groupby(["day", "model"], as_index=False).agg(
        input_tokens=("input_tokens", "sum"),
        output_tokens=("output_tokens", "sum"),
        cached_tokens=("cached_tokens", "sum"),
        cost_usd=("cost_usd", "sum"),
        calls=("calls", "sum"),
    )
    grouped["tokens"] = grouped["input_tokens"] + grouped["output_tokens"]
    return grouped


def breakdown(groups: pd.DataFrame, dimension: str, medians: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per ``model``, ``backend`` or ``endpoint``: calls, tokens, cost, error rate (and median
    latency when ``medians`` of that dimension are given)."""
    grouped = groups.groupby(dimension, as_index=False).agg(
        calls=("calls", "sum"),
        input_tokens=("input_tokens", "sum"),
        output_tokens=("output_tokens", "sum"),
        cached_tokens=("cached_tokens", "sum"),
        cost_usd=("cost_usd", "sum"),
        errors=("failed", "sum"),
    )
    if medians is not None:
        grouped = grouped.merge(medians, on=dimension, how="left")
        grouped = grouped[
            [dimension, "calls", "input_tokens", "output_tokens", "cached_tokens", "cost_usd", "median_ttft_s", "median_total_s", "errors"]
        ]
    grouped["error_rate"] = grouped["errors"] / grouped["calls"]
    return grouped.sort_values("calls", ascending=False, ignore_index=True)
