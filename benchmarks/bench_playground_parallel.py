"""Playground: do several models stream at the same time? (measured, never asserted)

Three offline demo models, each taking about a second, are run one at a time and then together,
through the playground's own runner (``app.compare.runner.CompareRun``, the background loop, the history
recorder on a temporary SQLite file). Together they should finish in about the time of the
slowest, well under the sum.

    .venv/bin/python benchmarks/bench_playground_parallel.py [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.compare.runner import ColumnRequest, CompareRun  # noqa: E402
from app.history.store import HistoryStore  # noqa: E402
from vv_llm.settings import settings  # noqa: E402
from vv_llm.testing.demo import DemoBackend  # noqa: E402

MODELS = ("demo-fast", "demo-tools", "demo-thinker")
PROMPT = [{"role": "user", "content": "Explain retrieval-augmented generation in three sentences."}]


def timed_run(models: tuple[str, ...], store: HistoryStore) -> tuple[float, list[float]]:
    """Wall time of one compare run of ``models``, and each column's own total time."""
    requests = [ColumnRequest("local", m, PROMPT) for m in models]
    started = time.perf_counter()
    run = CompareRun(requests, meta={"user_prompt": PROMPT[0]["content"]}, recorder=store).start()
    run.wait()
    wall = time.perf_counter() - started
    states = run.snapshot()
    bad = [s for s in states if s.status != "done"]
    if bad:
        raise SystemExit(f"{bad[0].model} did not finish: {bad[0].status} {bad[0].error_message}")
    return wall, [s.total or 0.0 for s in states]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, DemoBackend() as demo:
        settings.load(demo.settings_dict())
        store = HistoryStore(f"sqlite:///{tmp}/history.db")
        timed_run(MODELS, store)  # warm-up: imports, connections, tokenizers
        solo = {m: statistics.median(timed_run((m,), store)[0] for _ in range(args.repeat)) for m in MODELS}
        together = [timed_run(MODELS, store)[0] for _ in range(args.repeat)]

    total_alone = sum(solo.values())
    wall = statistics.median(together)
    result = {
        "models": list(MODELS),
        "alone_s": {m: round(t, 3) for m, t in solo.items()},
        "sum_alone_s": round(total_alone, 3),
        "together_wall_s": round(wall, 3),
        "together_runs_s": [round(t, 3) for t in together],
        "slowest_alone_s": round(max(solo.values()), 3),
        "speedup_vs_sequential": round(total_alone / wall, 2),
        "repeat": args.repeat,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("## Playground: three demo models at once\n")
    print("| model | alone (median) |\n|---|---:|")
    for m, t in solo.items():
        print(f"| {m} | {t:.3f} s |")
    print(f"| **sum, one after another** | **{total_alone:.3f} s** |")
    print(f"| **all three together** | **{wall:.3f} s** |\n")
    print(
        f"Together they take {wall / max(solo.values()):.2f}× the slowest model alone and {wall / total_alone:.0%} of the sum ({result['speedup_vs_sequential']}× faster than sequential)."
    )


if __name__ == "__main__":
    main()
