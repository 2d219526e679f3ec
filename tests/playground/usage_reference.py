"""The Usage page's numbers as the playground computed them before they moved into SQL: every
result row loaded, then pandas. Tests check the SQL aggregates (``app.history.usage``,
``app.history.dashboard_data``) against it on generated histories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

COLUMNS = [
    "created_at",
    "run_id",
    "backend",
    "model",
    "endpoint",
    "status",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_usd",
    "ttft_s",
    "total_s",
    "error_type",
]
FAILED = ("error", "partial")
"""Statuses that count as errors (a stopped stream was the user's choice)."""


def usage_rows(store: Any) -> list[dict[str, Any]]:
    """One dict per model result with its run's time (what ``HistoryStore.usage_rows`` returned)."""
    from sqlmodel import col, select

    from app.history.models import Run, RunResult

    query = select(Run.created_at, RunResult).join(RunResult, col(RunResult.run_id) == col(Run.id))
    with store.session() as s:
        rows = s.exec(query).all()
    return [
        {
            "created_at": created_at,
            "run_id": r.run_id,
            "backend": r.backend,
            "model": r.model,
            "endpoint": r.endpoint_id or "(none)",
            "status": r.status,
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "cached_tokens": r.cached_tokens,
            "cost_usd": r.cost_usd,
            "ttft_s": r.ttft_s,
            "total_s": r.total_s,
            "error_type": r.error_type,
        }
        for created_at, r in rows
    ]


def usage_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per model call, with local ``day``, ``tokens`` and ``failed`` columns added."""
    df = pd.DataFrame(list(rows), columns=COLUMNS)
    created = pd.to_datetime(df["created_at"], utc=True)
    df["created_at"] = created.dt.tz_convert(_local_zone()).dt.tz_localize(None)
    df["day"] = df["created_at"].dt.normalize()
    for column in ("prompt_tokens", "completion_tokens", "cached_tokens"):
        df[column] = pd.to_numeric(df[column], errors="coerce").fillna(0).astype("int64")
    for column in ("cost_usd", "ttft_s", "total_s"):
        df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
    df["tokens"] = df["prompt_tokens"] + df["completion_tokens"]
    df["failed"] = df["status"].isin(FAILED)
    return df


def _local_zone() -> Any:
    return datetime.now().astimezone().tzinfo


def filtered(df: pd.DataFrame, start: date | None = None, end: date | None = None, models: Sequence[str] = ()) -> pd.DataFrame:
    """Rows from ``start`` to ``end`` (inclusive local days) for ``models`` (all when empty)."""
    mask = pd.Series(True, index=df.index)
    if start is not None:
        mask &= df["day"] >= pd.Timestamp(start)
    if end is not None:
        mask &= df["day"] <= pd.Timestamp(end)
    if models:
        mask &= df["model"].isin(list(models))
    return df[mask]


def kpis(df: pd.DataFrame) -> dict[str, Any]:
    calls = len(df)
    return {
        "runs": int(df["run_id"].nunique()),
        "calls": calls,
        "tokens": int(df["tokens"].sum()),
        "cost": float(df["cost_usd"].sum()) if df["cost_usd"].notna().any() else None,
        "median_ttft": float(df["ttft_s"].median()) if df["ttft_s"].notna().any() else None,
        "error_rate": float(df["failed"].mean()) if calls else None,
    }


def daily(df: pd.DataFrame) -> pd.DataFrame:
    """Per day and model: input/output/cached tokens, cost, calls."""
    grouped = df.groupby(["day", "model"], as_index=False).agg(
        input_tokens=("prompt_tokens", "sum"),
        output_tokens=("completion_tokens", "sum"),
        cached_tokens=("cached_tokens", "sum"),
        cost_usd=("cost_usd", "sum"),
        calls=("run_id", "size"),
    )
    grouped["tokens"] = grouped["input_tokens"] + grouped["output_tokens"]
    return grouped


def breakdown(df: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Per ``model``, ``backend`` or ``endpoint``: calls, tokens, cost, latency and error rate."""
    grouped = df.groupby(dimension, as_index=False).agg(
        calls=("run_id", "size"),
        input_tokens=("prompt_tokens", "sum"),
        output_tokens=("completion_tokens", "sum"),
        cached_tokens=("cached_tokens", "sum"),
        cost_usd=("cost_usd", "sum"),
        median_ttft_s=("ttft_s", "median"),
        median_total_s=("total_s", "median"),
        errors=("failed", "sum"),
    )
    grouped["error_rate"] = grouped["errors"] / grouped["calls"]
    return grouped.sort_values("calls", ascending=False, ignore_index=True)


def latency_long(df: pd.DataFrame) -> pd.DataFrame:
    """TTFT and total time in long form (``model``, ``metric``, ``seconds``) for distribution charts."""
    done = df[df["status"] == "done"]
    long = done.melt(id_vars=["model"], value_vars=["ttft_s", "total_s"], var_name="metric", value_name="seconds").dropna()
    long["metric"] = long["metric"].map({"ttft_s": "time to first token", "total_s": "total time"})
    return long


def recent_errors(df: pd.DataFrame, limit: int = 20) -> pd.DataFrame:
    failed = df[df["failed"]].sort_values("created_at", ascending=False)
    return failed[["created_at", "model", "endpoint", "status", "error_type"]].head(limit)
