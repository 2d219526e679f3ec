"""Usage dashboard: renders from a seeded history; the numbers behind it are right."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import usage_reference as reference
from playground_helpers import history_store, texts


def _metrics(at: Any) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_dashboard_renders_from_a_seeded_database(app: Any, history_url: str) -> None:
    from app.history.demo_data import seed_demo_history
    from app.history.store import HistoryStore

    store = HistoryStore(history_url)
    runs = seed_demo_history(store, days=10)
    rows = reference.usage_rows(store)
    at = app.run()
    at.switch_page("app/pages/dashboard.py").run()
    assert not at.exception
    metrics = _metrics(at)
    assert metrics["Runs"] == f"{runs:,}" and metrics["Model calls"] == f"{len(rows):,}"
    failed = sum(r["status"] == "error" for r in rows)
    assert metrics["Error rate"] == f"{failed / len(rows):.0%}"
    charts = at.get("vega_lite_chart")
    assert len(charts) == 7  # tokens & cost per day, tokens & cost by group, TTFT & total latency, error rate
    assert [h.value for h in at.subheader] == ["Over time", "Breakdown", "Latency", "Errors"]
    at.radio(key="dashboard_dimension").set_value("Endpoint").run()
    assert not at.exception
    at.multiselect(key="dashboard_models").set_value(["demo-fast"]).run()
    fast_calls = sum(r["model"] == "demo-fast" for r in rows)
    assert _metrics(at)["Model calls"] == f"{fast_calls:,}"


def test_dashboard_without_history_says_so(app: Any) -> None:
    at = app.run()
    at.switch_page("app/pages/dashboard.py").run()
    assert not at.exception
    assert any("Nothing to show yet" in i for i in texts(at.info))


def _window(start: Any = None, end: Any = None, models: tuple[str, ...] = ()) -> Any:
    from app.history.usage import UsageWindow, local_offset_minutes

    return UsageWindow(start, end, models, local_offset_minutes())


@pytest.fixture
def seeded(history_url: str) -> Any:
    """Sixty days of demo history (with failures), and its rows the way the old page loaded them
    (SQLite and PostgreSQL)."""
    from app.history.demo_data import seed_demo_history
    from app.history.store import HistoryStore

    store = HistoryStore(history_url)
    seed_demo_history(store, days=60, seed=11, runs_per_day=(3, 9))
    return store, reference.usage_frame(reference.usage_rows(store))


@pytest.mark.parametrize("days_back, models", [(None, ()), (29, ()), (6, ("demo-slow", "demo-thinker")), (1, ("demo-fast",))])
def test_sql_aggregates_equal_the_pandas_computation(seeded: Any, days_back: int | None, models: tuple[str, ...]) -> None:
    """Every number of the Usage page, aggregated in SQL, equals the old load-everything pandas result."""
    from datetime import date, timedelta

    from app.history import dashboard_data as data

    store, frame = seeded
    end = date.today()
    start = None if days_back is None else end - timedelta(days=days_back)
    window = _window(start, end if start else None, models)
    expected = reference.filtered(frame, start, end if start else None, list(models))
    assert len(expected) > 0
    got = data.load(store.engine, window)

    assert data.kpis(got) == pytest.approx(reference.kpis(expected))
    want_daily = reference.daily(expected).sort_values(["day", "model"], ignore_index=True)
    got_daily = data.daily(got.groups).sort_values(["day", "model"], ignore_index=True)
    pd.testing.assert_frame_equal(got_daily[want_daily.columns], want_daily, check_dtype=False)
    for dimension in ("model", "backend", "endpoint"):
        want = reference.breakdown(expected, dimension).sort_values(dimension, ignore_index=True)
        table = data.breakdown(got.groups, dimension, got.medians[dimension])
        pd.testing.assert_frame_equal(table.sort_values(dimension, ignore_index=True)[want.columns], want, check_dtype=False)
    latency = reference.latency_long(expected)
    for (model, metric), values in latency.groupby(["model", "metric"])["seconds"]:
        box = got.boxes[(got.boxes["model"] == model) & (got.boxes["metric"] == metric)].iloc[0]
        assert box["calls"] == len(values)
        assert [box["min"], box["q1"], box["median"], box["q3"], box["max"]] == pytest.approx(
            [values.min(), values.quantile(0.25), values.median(), values.quantile(0.75), values.max()]
        )
    want_errors = reference.recent_errors(expected).reset_index(drop=True)
    assert got.errors[["model", "endpoint", "status", "error_type"]].values.tolist() == (
        want_errors[["model", "endpoint", "status", "error_type"]].values.tolist()
    )
    assert list(got.errors["created_at"]) == list(want_errors["created_at"])


def test_an_empty_window_and_an_empty_history(tmp_path: Path) -> None:
    from datetime import date

    from app.history import dashboard_data as data
    from app.history import usage

    store = history_store(tmp_path)
    assert usage.span(store.engine, 0) is None and usage.model_names(store.engine) == []
    got = data.load(store.engine, _window(date(2020, 1, 1), date(2020, 1, 31)))
    assert got.empty and data.kpis(got)["calls"] == 0 and data.kpis(got)["cost"] is None and got.boxes.empty


def test_the_history_version_changes_with_every_write(tmp_path: Path) -> None:
    from app.history.demo_data import seed_demo_history

    store = history_store(tmp_path)
    empty = store.version()
    seed_demo_history(store, days=1)
    other = history_store(tmp_path)  # another process's view: no writes of its own
    seeded = other.version()
    assert seeded != empty
    run = other.search(limit=1)[0].run.id
    store.delete([run])
    assert store.version() != seeded and other.version() != seeded  # a deletion shows in the data, not only in the counter


def test_usage_numbers_per_day_model_and_endpoint(tmp_path: Path) -> None:
    """Hand-made rows: sums, error rate (a stopped stream is not an error), completed-only latency."""
    from datetime import date

    from app.history import dashboard_data as data
    from app.history.models import Run, RunResult

    store = history_store(tmp_path)

    def row(model: str, status: str, prompt: int, completion: int, cost: float | None, ttft: float | None, day: int) -> None:
        created = datetime(2026, 3, day, 12, tzinfo=UTC)
        with store.session() as s:
            if s.get(Run, f"r{day}") is None:
                s.add(Run(id=f"r{day}", created_at=created, status="done"))
            s.add(
                RunResult(
                    run_id=f"r{day}",
                    backend="local",
                    model=model,
                    endpoint_id="e1" if model == "a" else "e2",
                    status=status,
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    cached_tokens=0,
                    cost_usd=cost,
                    ttft_s=ttft,
                    total_s=None if ttft is None else ttft + 1,
                    error_type=None if status == "done" else "ServerError",
                    started_at=created,
                )
            )
            s.commit()

    row("a", "done", 10, 20, 0.5, 0.2, 1)
    row("a", "error", 5, 0, None, None, 1)
    row("b", "done", 1, 2, 0.25, 0.4, 2)
    row("b", "stopped", 1, 1, 0.1, 0.3, 2)
    got = data.load(store.engine, _window(date(2026, 2, 1), date(2026, 3, 31)))
    k = data.kpis(got)
    assert (k["runs"], k["calls"], k["tokens"]) == (2, 4, 40)
    assert k["cost"] == pytest.approx(0.85) and k["error_rate"] == 0.25  # a stopped stream is not an error
    by_model = data.breakdown(got.groups, "model").set_index("model")
    assert by_model.loc["a", "error_rate"] == 0.5 and by_model.loc["b", "error_rate"] == 0.0
    assert by_model.loc["a", "input_tokens"] == 15 and by_model.loc["a", "output_tokens"] == 20
    assert set(data.breakdown(got.groups, "endpoint")["endpoint"]) == {"e1", "e2"}
    daily = data.daily(got.groups)
    assert daily["tokens"].sum() == 40 and len(daily) == 2
    only_b = data.load(store.engine, _window(date(2026, 2, 1), date(2026, 3, 31), ("b",)))
    assert data.kpis(only_b)["calls"] == 2
    assert sorted(got.boxes["metric"]) == ["time to first token"] * 2 + ["total time"] * 2  # completed calls only
    assert set(got.boxes["calls"]) == {1}


def test_demo_calls_are_counted_and_left_out_with_their_runs(tmp_path: Path) -> None:
    """The demo share counts demo-endpoint calls and nameless failed demo calls; leaving demo calls
    out also leaves out the runs that had only demo calls."""
    from datetime import date

    from app.history import dashboard_data as data
    from app.history import usage
    from app.history.models import Run, RunResult
    from vv_llm.testing.demo import DEMO_ENDPOINT_ID

    store = history_store(tmp_path)
    created = datetime(2026, 3, 1, 12, tzinfo=UTC)
    calls = {  # run: (backend, model, endpoint)
        "demo": [("local", "demo-fast", DEMO_ENDPOINT_ID), ("local", "demo-slow", None)],
        "real": [("openai", "gpt-4o", "work"), ("local", "demo-fast", DEMO_ENDPOINT_ID), ("openai", "demo-x", None)],
    }
    with store.session() as s:
        for run, results in calls.items():
            s.add(Run(id=run, created_at=created, status="done"))
            for backend, model, endpoint in results:
                s.add(
                    RunResult(run_id=run, backend=backend, model=model, endpoint_id=endpoint, status="done", ttft_s=0.1, started_at=created)
                )
        s.commit()
    assert usage.simulated_calls(store.engine) == (3, 5)  # a demo- model on a non-demo backend is not a demo call
    window = _window(date(2026, 2, 1), date(2026, 3, 31))
    everything = data.kpis(data.load(store.engine, window))
    assert (everything["runs"], everything["calls"]) == (2, 5)
    real = data.kpis(
        data.load(store.engine, usage.UsageWindow(window.start, window.end, (), window.offset_minutes, exclude_simulated=True))
    )
    assert (real["runs"], real["calls"]) == (1, 2)
