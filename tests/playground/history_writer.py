"""One playground process recording comparisons into a shared history database (run by a test).

    python history_writer.py DATABASE_URL TAG RUNS START_AT

Waits until ``START_AT`` (a ``time.time()``) so several writers overlap, then records ``RUNS``
three-model comparisons of the demo models through the playground's own runner and store, each
prompt tagged ``TAG``; exits non-zero if any run did not finish.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.compare.runner import ColumnRequest, CompareRun
from app.history.store import HistoryStore
from vv_llm.settings import settings
from vv_llm.testing.demo import DemoBackend

MODELS = ("demo-fast", "demo-thinker", "demo-tools")


def main(url: str, tag: str, runs: int, start_at: float) -> int:
    store = HistoryStore(url)
    with DemoBackend(pace=0.02) as demo:
        settings.load(demo.settings_dict())
        time.sleep(max(0.0, start_at - time.time()))
        for index in range(runs):
            prompt = f"{tag} question {index}"
            messages = [{"role": "user", "content": prompt}]
            run = CompareRun(
                [ColumnRequest("local", model, messages) for model in MODELS], meta={"user_prompt": prompt}, recorder=store
            ).start()
            if not run.wait(60):
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
