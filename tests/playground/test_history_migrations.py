"""History schema upgrades: databases users already have open and upgrade in place, losing nothing —
on SQLite and on PostgreSQL (``history_url``)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from app.history import migrate
from app.history.database import create_history_engine
from app.history.store import HistoryStore

FIXTURES = Path(__file__).with_name("fixtures")


def _release_0_1_0_database(url: str) -> None:
    """A history database exactly as vv-llm 0.1.0 left it (before migrations), with rows of every table.

    SQLite: 0.1.0's own DDL. PostgreSQL: the baseline revision (the 0.1.0 schema) without Alembic's
    version table, as 0.1.0's ``create_all`` left a team's database.
    """
    engine = create_history_engine(url)
    if engine.dialect.name == "sqlite":
        db = sqlite3.connect(engine.url.database or "")
        db.executescript((FIXTURES / "history_0_1_0.sql").read_text())
        db.close()
    else:
        with engine.begin() as connection:
            command.upgrade(migrate._config(connection), migrate.BASELINE)
            connection.execute(text("DROP TABLE alembic_version"))
    with engine.begin() as db:
        for n in range(3):
            run_id = f"run{n:029d}"
            db.execute(
                text("INSERT INTO runs VALUES (:id, :created, :finished, 'done', :title, :prompt, NULL, 0, '{}', NULL, 'host:1')"),
                {
                    "id": run_id,
                    "created": datetime(2026, 11, n + 1, 10),
                    "finished": datetime(2026, 11, n + 1, 10, 0, 5),
                    "title": f"title {n}",
                    "prompt": f"prompt {n} ✓",
                },
            )
            for position, model in enumerate(("demo-fast", "demo-thinker")):
                result_id = db.execute(
                    text(
                        "INSERT INTO run_results (run_id, position, backend, model, endpoint_id, status, content, prompt_tokens,"
                        " completion_tokens, cost_usd, usage_estimated, parameters, started_at) VALUES"
                        " (:run_id, :position, 'openai', :model, 'demo', 'done', :content, 10, 20, 0.0001, :estimated, '{}', :started)"
                        " RETURNING id"
                    ),
                    {
                        "run_id": run_id,
                        "position": position,
                        "model": model,
                        "content": f"answer {n}/{position}",
                        "estimated": False,
                        "started": datetime(2026, 11, 1, 10),
                    },
                ).scalar_one()
                db.execute(
                    text("INSERT INTO run_messages (result_id, position, role, body) VALUES (:result_id, 0, 'user', :body)"),
                    {"result_id": result_id, "body": '{"role": "user", "content": "hi"}'},
                )
    engine.dispose()


def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_history_engine(url)
    try:
        with engine.connect() as db:
            return {
                table: [tuple(row) for row in db.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
                for table in ("runs", "run_results", "run_messages")
            }
    finally:
        engine.dispose()


def test_a_database_from_release_0_1_0_upgrades_in_place_and_keeps_every_row(history_url: str) -> None:
    _release_0_1_0_database(history_url)
    before = _rows(history_url)

    store = HistoryStore(history_url)

    assert migrate.current(store.engine) == migrate.head()
    after = _rows(history_url)
    for table, rows in before.items():
        assert [row[: len(rows[0])] for row in after[table]] == rows, table  # new columns may follow; old values unchanged
    views = store.search(limit=10)
    assert [v.run.user_prompt for v in views] == ["prompt 2 ✓", "prompt 1 ✓", "prompt 0 ✓"]
    assert [r.result.content for r in views[0].results] == ["answer 2/0", "answer 2/1"]
    assert views[0].results[0].messages == [{"role": "user", "content": "hi"}]


def test_reopening_an_upgraded_database_changes_nothing(history_url: str) -> None:
    _release_0_1_0_database(history_url)
    HistoryStore(history_url)
    upgraded = _rows(history_url)
    HistoryStore(history_url)
    assert _rows(history_url) == upgraded


def test_migrations_build_exactly_the_schema_the_models_describe(history_url: str) -> None:
    """Every model change comes with a migration: a new database upgraded to head matches the models."""
    store = HistoryStore(history_url)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_migrations_form_one_line_from_the_baseline() -> None:
    assert migrate.head()  # raises when two revisions name the same down_revision


def _open(url: str) -> None:
    HistoryStore(url)


def test_two_processes_starting_on_a_new_database_both_open_it(history_url: str) -> None:
    url = history_url
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_open, args=(url,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert migrate.current(create_history_engine(url)) == migrate.head()


def test_a_database_at_the_baseline_gets_the_history_indexes_and_keeps_every_row(tmp_path: Path) -> None:
    """0004_history_indexes on a database of the previous schema: indexes added, rows untouched."""
    path = tmp_path / "history.db"
    engine = create_history_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.upgrade(migrate._config(connection), migrate.BASELINE)
    engine.dispose()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO runs VALUES ('r1', '2026-11-01 10:00:00.000000', NULL, 'done', 't', 'p', NULL, 0, '{}', NULL, 'h:1')")
    db.execute(
        "INSERT INTO run_results (run_id, position, backend, model, status, content, usage_estimated, parameters, started_at,"
        " finished_at, ttft_s) VALUES ('r1', 0, 'local', 'demo-fast', 'done', 'answer', 0, '{}', '2026-11-01 10:00:00.000000',"
        " '2026-11-01 10:00:02.000000', 0.25)"
    )
    db.commit()
    db.close()
    before = _rows(f"sqlite:///{path}")

    store = HistoryStore(f"sqlite:///{path}")

    assert migrate.current(store.engine) == migrate.head()
    assert _rows(f"sqlite:///{path}") == before
    db = sqlite3.connect(path)
    indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'run_results'")}
    db.close()
    assert {"ix_run_results_usage", "ix_run_results_finished_at", "ix_run_results_model_run"} <= indexes
    assert store.get("r1") is not None and store.get("r1").results[0].result.ttft_s == 0.25  # type: ignore[union-attr]
