"""A team's shared history: two playground processes write to one database at once (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WRITER = Path(__file__).with_name("history_writer.py")
RUNS = 6


def test_two_playground_processes_write_to_one_database_without_losing_or_mixing_rows(history_url: str) -> None:
    from history_writer import MODELS

    from app.history import usage
    from app.history.store import HistoryStore

    HistoryStore(history_url)  # the schema exists before the writers race to use it
    start_at = time.time() + 3  # both processes are up (imports, demo server) before either writes
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    writers = [
        subprocess.Popen(
            [sys.executable, str(WRITER), history_url, tag, str(RUNS), str(start_at)], env=env, stderr=subprocess.PIPE, text=True
        )
        for tag in ("alpha", "beta")
    ]
    errors = [w.communicate(timeout=180)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors

    store = HistoryStore(history_url)
    views = store.search(limit=100)
    prompts = sorted(v.run.user_prompt for v in views)
    assert prompts == sorted(f"{tag} question {i}" for tag in ("alpha", "beta") for i in range(RUNS))  # nothing lost
    owners = {v.run.owner for v in views}
    assert len(owners) == 2  # really two processes
    for view in views:
        run: Any = view.run
        assert run.status == "done", (run.user_prompt, run.status)
        assert [r.result.model for r in view.results] == list(MODELS)
        for result in view.results:
            assert result.result.run_id == run.id and result.result.status == "done" and result.result.content
            # each result holds its own run's conversation: the prompt it was asked, then its own reply
            assert [m["role"] for m in result.messages] == ["user", "assistant"]
            assert result.messages[0]["content"] == run.user_prompt
            assert result.messages[1]["content"] == result.result.content
    assert int(usage.groups(store.engine, usage.UsageWindow())["calls"].sum()) == 2 * RUNS * len(MODELS)  # Usage counts every call
