"""Matrix runs on the real runner and a real SQLite file: the cap, cells saved as they finish,
stop, resume, interrupted runs, History/exports, and the schema upgrade that adds the tables."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.compare.matrix import MatrixRun, MatrixSpec
from app.history import usage
from app.history.matrix_store import MatrixStore
from app.history.store import HistoryStore

CITIES = [{"city": c} for c in ("Paris", "Rome", "Oslo", "Bern")]


@pytest.fixture
def demo() -> Iterator[Any]:
    from vv_llm.settings import settings
    from vv_llm.testing.demo import DemoBackend

    with DemoBackend(pace=0.1) as backend:
        settings.load(backend.settings_dict())
        yield backend
    settings.reset()


@pytest.fixture
def stores(tmp_path: Path) -> tuple[HistoryStore, MatrixStore]:
    history = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    return history, MatrixStore(history)


def _spec(concurrency: int = 2, rows: list[dict[str, str]] = CITIES) -> MatrixSpec:
    return MatrixSpec(
        models=["local/demo-fast", "local/demo-tools"],
        rows=rows,
        template="One fact about {{city}}.",
        columns=["city"],
        concurrency=concurrency,
    )


def _prompts_sent(demo: Any) -> list[tuple[str, str]]:
    return [(r.json["model"], r.json["messages"][-1]["content"]) for r in demo.server.requests]


def test_a_matrix_sends_every_cell_once_never_more_than_the_cap_of_a_model_at_a_time(demo: Any, stores: Any) -> None:
    history, store = stores
    run = MatrixRun(_spec(concurrency=2), recorder=store).start()
    assert run.wait(60)
    states = run.cells()
    assert run.status == "done" and run.progress().done == 8 and run.progress().total == 8
    assert sorted(states) == [(r, m) for r in range(4) for m in range(2)]
    assert all(s.status == "done" and s.content and s.cost for s in states.values())
    assert sorted(_prompts_sent(demo)) == sorted((m, f"One fact about {c['city']}.") for c in CITIES for m in ("demo-fast", "demo-tools"))

    def most_at_once(model: int | None) -> int:
        spans = [(s.started or 0.0, (s.started or 0.0) + (s.total or 0.0)) for (_r, m), s in states.items() if model in (None, m)]
        return max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)

    assert most_at_once(0) == most_at_once(1) == 2  # concurrent, and capped per model
    assert most_at_once(None) == 4  # a model's cap never holds up another model

    view = history.get(run.id)
    assert view is not None and view.matrix is not None and view.run.status == "done"
    assert view.matrix.row.status == "done" and len(view.results) == 8 and len(view.matrix.cells) == 8
    for r in view.results:  # each cell is an ordinary result: its own prompt sent, then the answer
        row, model = view.matrix.cells[r.result.id or -1]
        assert r.messages[0] == {"role": "user", "content": f"One fact about {CITIES[row]['city']}."}
        assert r.messages[-1]["role"] == "assistant" and r.result.model == ("demo-fast", "demo-tools")[model]
    assert set(usage.groups(history.engine, usage.UsageWindow())["model"]) == {"demo-fast", "demo-tools"}  # Usage sees every cell


def test_stop_keeps_finished_cells_and_resume_sends_only_the_missing_ones(demo: Any, stores: Any) -> None:
    history, store = stores
    rows = [{"city": f"City {i}"} for i in range(10)]
    run = MatrixRun(_spec(concurrency=1, rows=rows), recorder=store).start()
    while run.progress().done < 3:
        run.wait(0.05)
    run.stop()
    assert run.wait(30)
    states = run.cells()
    finished = {c for c, s in states.items() if s.status == "done"}
    assert 3 <= len(finished) < 20 and run.status == "stopped" and run.resumable
    assert all(s.status == "stopped" for c, s in states.items() if c not in finished)  # the rest is marked stopped
    stored = store.load(run.id)
    assert stored is not None and stored.status == "stopped"
    assert {c for c, s in stored.cells.items() if s.status == "done"} == finished

    demo.server.requests.clear()
    resumed = MatrixRun(stored.spec, run_id=run.id, saved=stored.cells, recorder=store)
    assert set(resumed.sending) == set(stored.spec.all_cells()) - finished
    resumed.start()
    assert resumed.wait(60)
    assert len(demo.server.requests) == 20 - len(finished)  # nothing answered is sent again
    assert resumed.status == "done"
    final = store.load(run.id)
    assert final is not None and final.status == "done" and len(final.cells) == 20
    assert all(s.status == "done" for s in final.cells.values())
    view = history.get(run.id)
    assert view is not None and view.run.status == "done" and len(view.results) == 20  # resent cells replaced, not duplicated


KILLED_MID_RUN = """
import os, signal, sys
from app.history.matrix_store import MatrixStore
from app.history.store import HistoryStore
from app.compare.matrix import MatrixRun, MatrixSpec
from vv_llm.settings import settings
from vv_llm.testing.demo import DemoBackend

demo = DemoBackend(pace=0.2).start()
settings.load(demo.settings_dict())
spec = MatrixSpec(models=["local/demo-fast"], rows=[{"city": f"City {i}"} for i in range(12)], template="About {{city}}", columns=["city"], concurrency=1)
store = MatrixStore(HistoryStore(sys.argv[1]))
run = MatrixRun(spec, recorder=store).start()
while len(store.load(run.id).cells) < 3:  # three cells written to the database
    run.wait(0.02)
print(run.id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no goodbye: as when the server is killed
"""


def test_a_killed_server_loses_no_finished_cell_and_the_run_resumes_as_interrupted(demo: Any, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'history.db'}"
    root = Path(__file__).resolve().parents[2]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_RUN, url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert killed.returncode == -9, killed.stderr
    run_id = killed.stdout.strip()

    restarted = MatrixStore(HistoryStore(url))  # the next start of the playground
    stored = restarted.load(run_id)
    assert stored is not None and stored.status == "interrupted"
    saved = {c for c, s in stored.cells.items() if s.status == "done"}
    assert len(saved) >= 3 and all(s.content for s in stored.cells.values())  # every finished cell survived
    assert restarted.history.get(run_id).run.status == "partial"  # type: ignore[union-attr]

    resumed = MatrixRun(stored.spec, run_id=run_id, saved=stored.cells, recorder=restarted)
    assert set(resumed.sending) == set(stored.spec.all_cells()) - saved
    resumed.start()
    assert resumed.wait(60)
    sent = sorted(r.json["messages"][-1]["content"] for r in demo.server.requests)
    assert sent == sorted(stored.spec.prompt(r) for r, _m in resumed.sending)  # only the missing cells
    final = restarted.load(run_id)
    assert final is not None and final.status == "done" and len(final.cells) == 12


def test_exports_hold_the_whole_matrix_and_deleting_the_run_removes_its_cells(demo: Any, stores: Any) -> None:
    from app.history.export import to_csv, to_json, to_markdown

    history, store = stores
    run = MatrixRun(_spec(rows=CITIES[:3]), recorder=store).start()
    assert run.wait(60)
    views = history.get_many([run.id])
    exported = json.loads(to_json(views))["runs"][0]
    assert exported["matrix"]["variables"] == ["city"] and exported["matrix"]["rows"] == CITIES[:3]
    assert exported["matrix"]["models"] == ["local/demo-fast", "local/demo-tools"] and exported["matrix"]["cells"] == {
        "total": 6,
        "saved": 6,
    }
    cells = sorted((r["cell"]["row"], r["cell"]["model_index"], r["cell"]["prompt"], r["model"]) for r in exported["results"])
    assert cells[0] == (0, 0, "One fact about Paris.", "demo-fast") and len(cells) == 6
    rows = list(csv.DictReader(io.StringIO(to_csv(views))))
    assert sorted((r["matrix_row"], r["user_prompt"], r["model"]) for r in rows)[:2] == [
        ("1", "One fact about Paris.", "demo-fast"),
        ("1", "One fact about Paris.", "demo-tools"),
    ]
    assert json.loads(rows[0]["matrix_variables"]) in CITIES
    markdown = to_markdown(views)
    assert "**Matrix** 3 prompts × 2 models" in markdown and "### Row 3" in markdown and "> One fact about Oslo." in markdown
    assert markdown.count("#### demo-fast (local) — done") == 3

    assert history.delete([run.id]) == 1
    db = sqlite3.connect(Path(history.url.removeprefix("sqlite:///")))
    assert [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("matrix_runs", "matrix_cells", "run_results")] == [0, 0, 0]
    db.close()


def test_prompt_sets_are_saved_renamed_reopened_and_deleted(stores: Any) -> None:
    _history, store = stores
    saved = store.save_set("Capitals", "About {{city}}", "Be brief.", ["city"], CITIES)
    assert [s.name for s in store.list_sets()] == ["Capitals"]
    with pytest.raises(ValueError, match="already exists"):
        store.save_set("Capitals", "", "", ["prompt"], [{"prompt": "x"}])
    with pytest.raises(ValueError, match="name"):
        store.save_set("  ", "", "", ["prompt"], [])
    store.save_set("Capitals v2", "Tell me about {{city}}", "", ["city"], CITIES[:1], set_id=saved.id)
    again = store.get_set(saved.id or 0)
    assert again is not None and again.name == "Capitals v2" and json.loads(again.rows) == CITIES[:1]
    assert store.delete_set(saved.id or 0) and store.list_sets() == []


def test_a_baseline_database_with_rows_upgrades_in_place_and_gains_the_matrix_tables(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from app.history import migrate

    path = tmp_path / "history.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:  # the database exactly as revision 0001_baseline leaves it
        config = migrate._config(connection)
        command.upgrade(config, migrate.BASELINE)
    db = sqlite3.connect(path)
    db.execute("INSERT INTO runs VALUES ('r1', '2026-11-01 10:00:00', NULL, 'done', 't', 'p', NULL, 0, '{}', NULL, 'h:1')")
    db.execute(
        "INSERT INTO run_results (id, run_id, position, backend, model, status, content, usage_estimated, parameters, started_at)"
        " VALUES (7, 'r1', 0, 'openai', 'gpt-4o', 'done', 'answer', 0, '{}', '2026-11-01 10:00:00')"
    )
    db.execute('INSERT INTO run_messages (result_id, position, role, body) VALUES (7, 0, \'user\', \'{"role": "user", "content": "p"}\')')
    db.commit()
    before = {t: db.execute(f"SELECT * FROM {t}").fetchall() for t in ("runs", "run_results", "run_messages")}
    db.close()

    history = HistoryStore(f"sqlite:///{path}")
    assert migrate.current(history.engine) == migrate.head()
    db = sqlite3.connect(path)
    assert {t: db.execute(f"SELECT * FROM {t}").fetchall() for t in before} == before
    db.close()
    assert {"prompt_sets", "matrix_runs", "matrix_cells"} <= set(inspect(history.engine).get_table_names())
    view = history.get("r1")
    assert view is not None and view.matrix is None and view.results[0].result.content == "answer"
    assert MatrixStore(history).save_set("works", "", "", ["prompt"], [{"prompt": "x"}]).id is not None
