"""Usage dashboard: renders from a seeded history; the numbers behind it are right."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from playground_helpers import texts


def _metrics(at: Any) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_dashboard_renders_from_a_seeded_database(app: Any, history_url: str) -> None:
    from app.history.demo_data import seed_demo_history
    from app.history.store import HistoryStore

    store = HistoryStore(history_url)
    runs = seed_demo_history(store, days=10)
    rows = store.usage_rows()
    at = app.run()
    at.switch_page("../pages/dashboard.py").run()
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
    at.switch_page("../pages/dashboard.py").run()
    assert not at.exception
    assert any("Nothing to show yet" in i for i in texts(at.info))


def test_usage_numbers_per_day_model_and_endpoint() -> None:
    from app import dashboard_data as data

    def row(model: str, status: str, prompt: int, completion: int, cost: float | None, ttft: float | None, day: int) -> dict[str, Any]:
        return {
            "created_at": datetime(2026, 3, day, 12, tzinfo=timezone.utc),
            "run_id": f"r{day}",
            "backend": "local",
            "model": model,
            "endpoint": "e1" if model == "a" else "e2",
            "status": status,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "cached_tokens": 0,
            "cost_usd": cost,
            "ttft_s": ttft,
            "total_s": None if ttft is None else ttft + 1,
            "error_type": None if status == "done" else "ServerError",
        }

    frame = data.usage_frame(
        [
            row("a", "done", 10, 20, 0.5, 0.2, 1),
            row("a", "error", 5, 0, None, None, 1),
            row("b", "done", 1, 2, 0.25, 0.4, 2),
            row("b", "stopped", 1, 1, 0.1, 0.3, 2),
        ]
    )
    k = data.kpis(frame)
    assert (k["runs"], k["calls"], k["tokens"]) == (2, 4, 40)
    assert k["cost"] == 0.85 and k["error_rate"] == 0.25  # a stopped stream is not an error
    by_model = data.breakdown(frame, "model").set_index("model")
    assert by_model.loc["a", "error_rate"] == 0.5 and by_model.loc["b", "error_rate"] == 0.0
    assert by_model.loc["a", "input_tokens"] == 15 and by_model.loc["a", "output_tokens"] == 20
    assert set(data.breakdown(frame, "endpoint")["endpoint"]) == {"e1", "e2"}
    daily = data.daily(frame)
    assert daily["tokens"].sum() == 40 and len(daily) == 2
    assert len(data.filtered(frame, models=["b"])) == 2
    latency = data.latency_long(frame)
    assert set(latency["metric"]) == {"time to first token", "total time"} and len(latency) == 4  # completed calls only
