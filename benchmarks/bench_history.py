"""History and Usage at 100,000 runs: do the pages cost what they show? (measured, never asserted)

Two histories written by the demo-history writer (``app.history.demo_data``): ~100 runs (a month,
2–4 runs a day) and ~100,000 runs (a year, 220–328 runs a day, ~300,000 model results). For each,
interleaved, median of ``--repeat``:

- the data paths, uncached: the Usage page's (version, date span, demo share, model list, the
  last 30 days' aggregates, medians per model) and the History page's (version, model list, count, the first
  page of 20 runs), and the Python memory they allocate at peak (tracemalloc);
- the pages themselves through Streamlit's AppTest: Usage and History opened with an empty cache,
  a filter change (models), and reopening with the cache warm.

Budget: with 100,000 runs each page opens within 2× (or 0.25 s) of its time on the small history,
and a filter change is as fast. The 100k database is built once (~2 min) and reused from the
temporary folder.

    .venv/bin/python -m benchmarks.bench_history [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import inspect  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from app.history import dashboard_data as data  # noqa: E402
from app.history import migrate, usage  # noqa: E402
from app.history.demo_data import seed_demo_history  # noqa: E402
from app.history.store import HistoryStore  # noqa: E402

SIZES = {"small": (30, (2, 4)), "large": (365, (220, 328))}
"""days, runs a day: ~100 and ~100,000 runs."""
BUDGET_RATIO = 2.0
BUDGET_ABSOLUTE_S = 0.25
CACHE = Path(tempfile.gettempdir()) / "vv-llm-bench-history"
HISTORY_COUNT_CAP = 10_000
"""app/pages/history.py's COUNT_CAP."""
BUDGET_LINES = {
    "Usage page open": "dashboard open",
    "Usage page filter change (models)": "dashboard filter change",
    "History page open": "history open",
    "History page filter change (models)": "history filter change",
}


def history(size: str) -> Path:
    """A data folder holding the ``size`` history (built once, kept while its schema is current)."""
    folder = CACHE / size
    path = folder / "history.db"
    if path.exists():
        store = HistoryStore(f"sqlite:///{path}")
        tables = set(inspect(store.engine).get_table_names())
        if migrate.current(store.engine) == migrate.head() and tables >= set(SQLModel.metadata.tables) and store.count() > 0:
            return folder
        store.engine.dispose()
        for stale in folder.glob("history.db*"):
            stale.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    days, per_day = SIZES[size]
    seed_demo_history(HistoryStore(f"sqlite:///{path}"), days=days, seed=17, runs_per_day=per_day)
    return folder


def usage_path(store: HistoryStore) -> Any:
    offset = usage.local_offset_minutes()
    store.version()
    first, last = usage.span(store.engine, offset) or (date.today(), date.today())
    usage.simulated_calls(store.engine)
    usage.model_names(store.engine)
    window = usage.UsageWindow(max(first, date.today() - timedelta(days=29)), max(last, date.today()), (), offset)
    numbers = data.load(store.engine, window)
    data.breakdown(numbers.groups, "model", numbers.medians["model"])
    return numbers


def history_path(store: HistoryStore, models: tuple[str, ...] = ()) -> Any:
    """What the History page reads: the version, the model list, the (capped) count, the first page."""
    store.version()
    store.model_names()
    store.count(models=models, at_most=HISTORY_COUNT_CAP + 1)
    return store.search(models=models, limit=20)


def timed(fn: Callable[[], Any]) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak MB allocated by Python while it ran)."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, cpu, peak


def page_times(folder: Path) -> dict[str, tuple[float, float]]:
    """(seconds, CPU seconds) for the Usage and History pages: opened (empty cache), a filter
    change, reopened. AppTest runs the page in this process, so its CPU time is the page's."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["VV_LLM_DATA_DIR"] = str(folder)
    for var in ("VV_LLM_SETTINGS", "VV_LLM_DATABASE_URL", "VV_LLM_DEMO"):
        os.environ.pop(var, None)
    out: dict[str, tuple[float, float]] = {}

    def step(name: str, run: Callable[[], Any]) -> None:
        start, cpu = time.perf_counter(), time.process_time()
        at = run()
        out[name] = (time.perf_counter() - start, time.process_time() - cpu)
        assert not at.exception, at.exception

    for page, key, choice in (("dashboard", "dashboard_models", ["demo-fast"]), ("history", "history_models", ["demo-slow"])):
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
        at.run()
        step(f"{page} open", lambda: at.switch_page(f"app/pages/{page}.py").run())  # noqa: B023
        step(f"{page} filter change", lambda: at.multiselect(key=key).set_value(choice).run())  # noqa: B023
        at.multiselect(key=key).set_value([]).run()
        step(f"{page} reopen (cached)", lambda: at.switch_page(f"app/pages/{page}.py").run())  # noqa: B023
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)  # AppTest page runs move by tens of percent: 3 was too few
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    folders = {size: history(size) for size in SIZES}
    stores = {size: HistoryStore(f"sqlite:///{folder / 'history.db'}") for size, folder in folders.items()}
    counts = {size: (store.count(), usage.distinct_runs(store.engine, usage.UsageWindow())) for size, store in stores.items()}
    samples: dict[str, dict[str, list[float]]] = {size: {} for size in SIZES}
    order = list(SIZES)
    page_times(folders["small"])  # warm-up: imports, first script runs (not counted)
    for round_ in range(args.repeat):
        for size in order if round_ % 2 == 0 else order[::-1]:
            for name, fn in (
                ("Usage data path", usage_path),
                ("History data path", history_path),
                ("History data path, model filter", lambda store: history_path(store, ("demo-slow",))),
            ):
                seconds, cpu, peak = timed(lambda fn=fn, size=size: fn(stores[size]))  # type: ignore[misc]
                samples[size].setdefault(name, []).append(seconds)
                samples[size].setdefault(f"{name} CPU", []).append(cpu)
                samples[size].setdefault(f"{name} peak MB", []).append(peak)
            for name, (seconds, cpu) in page_times(folders[size]).items():
                samples[size].setdefault(name, []).append(seconds)
                samples[size].setdefault(f"{name} CPU", []).append(cpu)
    medians = {size: {name: statistics.median(values) for name, values in rows.items()} for size, rows in samples.items()}
    with stores["large"].engine.connect() as conn:
        results = conn.exec_driver_sql("SELECT count(*) FROM run_results").scalar_one()
    report = {
        "runs": {size: counts[size][0] for size in SIZES},
        "large_results": results,
        "medians": medians,
        "load": (load_start, os.getloadavg()[0]),
        "seconds": time.perf_counter() - started,
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    small, large = medians["small"], medians["large"]
    print(
        f"{report['runs']['small']:,} runs vs {report['runs']['large']:,} runs ({results:,} model results), demo-history writer; "
        f"median of {args.repeat}, interleaved; load average (1 min) {load_start:.2f} → {report['load'][1]:.2f}.\n"
    )
    print(
        f"| what | {report['runs']['small']:,} runs | {report['runs']['large']:,} runs | ratio | budget: ≤ {BUDGET_RATIO:g}× or + {BUDGET_ABSOLUTE_S} s |"
    )
    print("|---|---:|---:|---:|---|")
    for name in small:
        if name.endswith("peak MB"):
            print(
                f"| {name} (Python allocations) | {small[name]:.1f} MB | {large[name]:.1f} MB | {large[name] / small[name]:.2f}× | flat |"
            )
            continue
        ratio = large[name] / small[name]
        budgeted = "page" in name or "open" in name or "change" in name
        met = ratio <= BUDGET_RATIO or large[name] - small[name] <= BUDGET_ABSOLUTE_S
        status = ("met" if met else "not met") if budgeted else "—"
        print(f"| {name} | {small[name] * 1e3:,.0f} ms | {large[name] * 1e3:,.0f} ms | {ratio:.2f}× | {status} |")
    print(
        f"\nBudget lines (CPU time of the page's script run in AppTest, the figure that does not depend on other "
        f"processes' load; wall time alongside), {report['runs']['large']:,} vs {report['runs']['small']:,} runs:\n"
    )
    print(f"| budget line | measured | budget: ≤ {BUDGET_RATIO:g}× or + {BUDGET_ABSOLUTE_S} s | status |")
    print("|---|---|---|---|")
    for label, name in BUDGET_LINES.items():
        cpu_small, cpu_large = small[f"{name} CPU"], large[f"{name} CPU"]
        ratio = cpu_large / cpu_small
        met = ratio <= BUDGET_RATIO or cpu_large - cpu_small <= BUDGET_ABSOLUTE_S
        print(
            f"| {label} | {ratio:.2f}× CPU ({cpu_large * 1e3:,.0f} vs {cpu_small * 1e3:,.0f} ms, {(cpu_large - cpu_small) * 1e3:+,.0f} ms; "
            f"wall {large[name] / small[name]:.2f}×) | ≤ {BUDGET_RATIO:g}× or + {BUDGET_ABSOLUTE_S} s | {'met' if met else '**NOT MET**'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
