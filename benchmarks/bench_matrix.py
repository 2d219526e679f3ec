"""Playground matrix runs: concurrency, redraw cost while running, and opening a 1,000-cell run (measured, never asserted)

1. 100 prompts × 4 demo models through the playground's own ``MatrixRun`` (CompareRun, background
   loop, SQLite recorder writing every cell as it finishes), with a per-model concurrency cap. It
   should take about the slowest model's 100 answers divided by the cap — not the sum of all.
   While it runs, the page's redraw work (``cells()`` snapshot + per-model summary + progress) is
   timed on the UI's side: it never waits on the network.
2. A 1,000-cell run (250 prompts × 4 models) written by the real recorder, then opened the way the
   page opens it from History (``MatrixStore.load``), and the whole Prompt sets page rendered
   with it through Streamlit's AppTest (script run, server side).

    .venv/bin/python benchmarks/bench_matrix.py [--cap 8] [--pace 0.1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.compare.matrix import MatrixRun, MatrixSpec, summarize  # noqa: E402
from app.compare.runner import DONE, ColumnRequest, ColumnState, CompareRun  # noqa: E402
from app.history.matrix_store import MatrixStore  # noqa: E402
from app.history.store import HistoryStore  # noqa: E402
from vv_llm.settings import settings  # noqa: E402
from vv_llm.testing.demo import DemoBackend  # noqa: E402

MODELS = ("local/demo-fast", "local/demo-thinker", "local/demo-tools", "anthropic/demo-messages")
ANSWER = "A canned answer of about six hundred characters. " * 12


def _rows(n: int) -> list[dict[str, str]]:
    return [{"topic": f"topic number {i}"} for i in range(n)]


def one_answer_each(store: HistoryStore, samples: int) -> dict[str, float]:
    """Each model's median time for one answer, alone (sequential calls through the runner)."""
    out = {}
    for ref in MODELS:
        backend, _, model = ref.partition("/")
        times = []
        for i in range(samples):
            request = ColumnRequest(backend, model, [{"role": "user", "content": f"Explain topic number {i}."}])
            started = time.perf_counter()
            run = CompareRun([request], meta={"user_prompt": "solo"}, recorder=store).start()
            run.wait()
            times.append(time.perf_counter() - started)
        out[ref] = statistics.median(times)
    return out


def matrix_wall(store: MatrixStore, prompts: int, cap: int) -> tuple[float, list[float], int]:
    """Wall time of a prompts × 4 matrix; the UI-side redraw times sampled while it ran; cells done."""
    spec = MatrixSpec(models=list(MODELS), rows=_rows(prompts), template="Explain {{topic}}.", columns=["topic"], concurrency=cap)
    started = time.perf_counter()
    run = MatrixRun(spec, recorder=store).start()
    redraws = []
    while not run.wait(0.25):
        t = time.perf_counter()
        states = run.cells()
        summarize(spec, states)
        run.progress()
        redraws.append(time.perf_counter() - t)
    wall = time.perf_counter() - started
    done = sum(1 for s in run.cells().values() if s.status == DONE)
    return wall, redraws, done


def seed_large_run(store: MatrixStore, prompts: int) -> str:
    """A finished prompts × 4 matrix written cell by cell by the real recorder (synthetic answers)."""
    spec = MatrixSpec(models=list(MODELS), rows=_rows(prompts), template="Explain {{topic}}.", columns=["topic"])
    run = MatrixRun(spec).run
    store.run_started(run)
    for index, (r, m) in enumerate(run.meta["cells"]):
        state = ColumnState(MODELS[m].partition("/")[0], MODELS[m].partition("/")[2], status=DONE, content=f"{ANSWER} ({r}, {m})")
        state.usage = {"prompt_tokens": 12, "completion_tokens": 130, "total_tokens": 142, "cached_tokens": 0, "reasoning_tokens": 0}
        state.ttft, state.total, state.cost = 0.2 + m / 10, 1.0 + m / 10, 0.0002
        state.reply = {"role": "assistant", "content": state.content}
        store.column_finished(run, index, state)
    store.run_finished(run)
    return run.id


def open_times(url: str, run_id: str, repeat: int) -> dict[str, float]:
    """Median seconds to load the run from the database, and to render the page that shows it."""
    from streamlit.testing.v1 import AppTest

    store = MatrixStore(HistoryStore(url))
    loads = []
    for _ in range(repeat):
        t = time.perf_counter()
        stored = store.load(run_id)
        loads.append(time.perf_counter() - t)
        assert stored is not None and len(stored.cells) == 4 * len(stored.spec.rows)
    pages = []
    history_pages = []
    for _ in range(repeat):
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
        at.switch_page("app/pages/history.py").run()
        t = time.perf_counter()
        at.run()
        history_pages.append(time.perf_counter() - t)
        at.session_state["open_matrix"] = run_id
        at.switch_page("app/pages/matrix.py")
        t = time.perf_counter()
        at.run()
        pages.append(time.perf_counter() - t)
        if at.exception:
            raise SystemExit(f"the page failed: {at.exception}")
        assert at.session_state["matrix_run"].id == run_id
    return {"load_s": statistics.median(loads), "page_s": statistics.median(pages), "history_page_s": statistics.median(history_pages)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--cap", type=int, default=8, help="concurrency cap per model")
    parser.add_argument("--pace", type=float, default=0.1, help="demo models' pace (0.1: an answer in ~0.1 s)")
    parser.add_argument("--large", type=int, default=250, help="prompts of the large run (× 4 models)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, DemoBackend(pace=args.pace) as demo:
        settings.load(demo.settings_dict())
        url = f"sqlite:///{tmp}/history.db"
        history = HistoryStore(url)
        store = MatrixStore(history)
        matrix_wall(store, 4, args.cap)  # warm-up: imports, connections, tokenizers
        solo = one_answer_each(history, 7)
        wall, redraws, done = matrix_wall(store, args.prompts, args.cap)

        os.environ["VV_LLM_DATA_DIR"] = tmp  # the page opens the same database
        os.environ["VV_LLM_DEMO_PACE"] = str(args.pace)
        started = time.perf_counter()
        large = seed_large_run(store, args.large)
        seeded = time.perf_counter() - started
        opened = open_times(url, large, args.repeat)

    slowest = max(solo.values()) * args.prompts
    total = sum(solo.values()) * args.prompts
    result = {
        "prompts": args.prompts,
        "models": list(MODELS),
        "cap_per_model": args.cap,
        "one_answer_s": {m: round(t, 4) for m, t in solo.items()},
        "slowest_model_alone_s": round(slowest, 2),
        "all_sequential_s": round(total, 2),
        "ideal_s": round(slowest / args.cap, 2),
        "matrix_wall_s": round(wall, 2),
        "cells_done": done,
        "redraw_median_ms": round(statistics.median(redraws) * 1000, 2) if redraws else None,
        "redraw_max_ms": round(max(redraws) * 1000, 2) if redraws else None,
        "large_cells": args.large * 4,
        "large_seed_s": round(seeded, 2),
        **{k: round(v, 3) for k, v in opened.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"## Playground: a {args.prompts} × {len(MODELS)} matrix, cap {args.cap} per model\n")
    print("| measure | time |\n|---|---:|")
    for m, t in solo.items():
        print(f"| one answer of {m}, alone (median of 7) | {t * 1000:.0f} ms |")
    print(f"| slowest model's {args.prompts} answers one after another (extrapolated) | {slowest:.2f} s |")
    print(f"| every cell one after another (extrapolated) | {total:.2f} s |")
    print(f"| ideal: slowest model's {args.prompts} answers / cap | {slowest / args.cap:.2f} s |")
    print(f"| **the matrix ({done} of {args.prompts * len(MODELS)} cells done)** | **{wall:.2f} s** |")
    print(
        f"| redraw work while it ran (snapshot + summary + progress), median / max | {result['redraw_median_ms']} / {result['redraw_max_ms']} ms |\n"
    )
    print(
        f"The matrix took {wall / (slowest / args.cap):.2f}× the ideal and {wall / total:.0%} of running every cell one after another "
        f"({total / wall:.1f}× faster).\n"
    )
    print(f"## Opening a {args.large * 4}-cell matrix run from History\n")
    print(f"| measure | time (median of {args.repeat}) |\n|---|---:|")
    print(f"| `MatrixStore.load` (every cell, from SQLite) | {opened['load_s'] * 1000:.0f} ms |")
    print(f"| the whole Prompt sets page rendering it (AppTest script run) | {opened['page_s'] * 1000:.0f} ms |")
    print(f"| the History page listing it | {opened['history_page_s'] * 1000:.0f} ms |")
    print(f"\n(Writing the {args.large * 4} cells one transaction each, as a run does: {seeded:.1f} s.)")


if __name__ == "__main__":
    main()
