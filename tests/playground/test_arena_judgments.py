"""Ratings and votes in the SQLite history: edit in place, replace, cascade, survive bad rows, export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC
from pathlib import Path

import pytest
from alembic import command
from arena_helpers import stored_run

from app.arena.export import preference_pairs, ratings_csv, to_jsonl
from app.arena.ranking import leaderboard
from app.history import migrate
from app.history.judgments import (
    all_ratings,
    load_votes,
    ratings_for,
    record_vote,
    result_ids,
    save_rating,
    vote_for,
)
from app.history.store import HistoryStore
from app.settings.scrub import Scrubber


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    return HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")


def _count(path: Path, table: str) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        db.close()


def test_a_rating_is_edited_in_place_and_cleared_when_emptied(store: HistoryStore) -> None:
    run_id, seats = stored_run(store, ["m1", "m2"])
    rid = result_ids(store, run_id)[1]
    assert rid == seats[1].result_id
    save_rating(store, rid, thumb=1, note="crisp")
    save_rating(store, rid, thumb=-1, stars=2, note="  on second thought, wrong  ")
    rating = ratings_for(store, [rid])[rid]
    assert (rating.thumb, rating.stars, rating.note, rating.run_id) == (-1, 2, "on second thought, wrong", run_id)
    assert len(all_ratings(store)) == 1
    assert save_rating(store, rid) is None
    assert ratings_for(store, [rid]) == {}


def test_bad_ratings_are_refused_with_a_reason(store: HistoryStore) -> None:
    run_id, _ = stored_run(store, ["m1", "m2"])
    rid = result_ids(store, run_id)[0]
    with pytest.raises(ValueError, match="stars must be 1 to 5, got 6"):
        save_rating(store, rid, stars=6)
    with pytest.raises(ValueError, match="thumb must be 1"):
        save_rating(store, rid, thumb=2)
    with pytest.raises(ValueError, match="answer 99999 is not in the history"):
        save_rating(store, 99999, thumb=1)


def test_voting_twice_on_a_comparison_replaces_the_first_vote(store: HistoryStore) -> None:
    run_id, seats = stored_run(store, ["m1", "m2"])
    record_vote(store, run_id, outcome="winner", winner_position=0, seats=seats, blind=True)
    record_vote(store, run_id, outcome="winner", winner_position=1, seats=seats, blind=True, tag="coding")
    load = load_votes(store)
    assert len(load.records) == 1 and not load.skipped
    vote = load.records[0].vote
    assert (vote.winner_position, vote.tag, vote.blind) == (1, "coding", True)
    board = leaderboard([r.pairs for r in load.records], min_votes=1)
    assert {s.model: (s.wins, s.losses) for s in board.standings} == {"m2": (1, 0), "m1": (0, 1)}


def test_deleting_a_run_deletes_its_votes_and_ratings(store: HistoryStore, tmp_path: Path) -> None:
    kept, kept_seats = stored_run(store, ["m1", "m2"])
    gone, seats = stored_run(store, ["m1", "m2"])
    for run_id, run_seats in ((kept, kept_seats), (gone, seats)):
        record_vote(store, run_id, outcome="tie", winner_position=None, seats=run_seats, blind=False)
        save_rating(store, run_seats[0].result_id or 0, stars=5)
    assert store.delete([gone]) == 1
    assert vote_for(store, gone) is None and vote_for(store, kept) is not None
    assert [r.run.id for r in all_ratings(store)] == [kept]
    assert _count(tmp_path / "history.db", "votes") == 1 and _count(tmp_path / "history.db", "ratings") == 1


def test_the_database_cascades_too_when_a_run_is_deleted_by_hand(store: HistoryStore, tmp_path: Path) -> None:
    run_id, seats = stored_run(store, ["m1", "m2"])
    record_vote(store, run_id, outcome="winner", winner_position=0, seats=seats, blind=False)
    save_rating(store, seats[1].result_id or 0, thumb=1)
    db = sqlite3.connect(tmp_path / "history.db")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("DELETE FROM run_messages")
    db.execute("DELETE FROM run_results")
    db.execute("DELETE FROM runs")
    db.commit()
    db.close()
    assert _count(tmp_path / "history.db", "votes") == 0 and _count(tmp_path / "history.db", "ratings") == 0


def test_corrupt_vote_rows_are_skipped_and_reported(store: HistoryStore, tmp_path: Path) -> None:
    good, seats = stored_run(store, ["m1", "m2"])
    record_vote(store, good, outcome="winner", winner_position=0, seats=seats, blind=True)
    bad_ids = [stored_run(store, ["m1", "m2"])[0] for _ in range(4)]
    db = sqlite3.connect(tmp_path / "history.db")
    rows = [
        (bad_ids[0], "winner", 0, "{not json"),
        (bad_ids[1], "winner", 7, json.dumps([s.__dict__ for s in seats])),
        (bad_ids[2], "landslide", None, json.dumps([s.__dict__ for s in seats])),
        (bad_ids[3], "tie", None, json.dumps([{"position": 0}])),
    ]
    for run_id, outcome, winner, seating in rows:
        db.execute(
            "INSERT INTO votes (run_id, created_at, outcome, winner_position, blind, tag, seating) VALUES (?, '2026-12-01 10:00:00', ?, ?, 1, '', ?)",
            (run_id, outcome, winner, seating),
        )
    db.commit()
    db.close()
    load = load_votes(store)
    assert [r.vote.run_id for r in load.records] == [good]
    reasons = "\n".join(load.skipped)
    assert len(load.skipped) == 4
    assert "not valid JSON" in reasons and "winner (column 7) sat nowhere" in reasons
    assert "unknown outcome 'landslide'" in reasons and "fewer than two models" in reasons


def test_a_vote_row_with_an_unreadable_date_is_skipped_not_fatal(store: HistoryStore, tmp_path: Path) -> None:
    good, seats = stored_run(store, ["m1", "m2"])
    record_vote(store, good, outcome="winner", winner_position=1, seats=seats, blind=True)
    bad, _ = stored_run(store, ["m1", "m2"])
    db = sqlite3.connect(tmp_path / "history.db")
    db.execute(
        "INSERT INTO votes (run_id, created_at, outcome, winner_position, blind, tag, seating) VALUES (?, 'yesterday-ish', 'tie', NULL, 0, '', '[]')",
        (bad,),
    )
    db.commit()
    db.close()
    load = load_votes(store)
    assert [r.vote.run_id for r in load.records] == [good]
    assert len(load.skipped) == 1 and "unreadable row" in load.skipped[0]


def test_a_baseline_database_with_rows_upgrades_to_judgments_keeping_them(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    first = HistoryStore(f"sqlite:///{path}")
    run_id, seats = stored_run(first, ["m1", "m2"])
    with first.engine.begin() as connection:  # back to the schema before judgments (and later revisions) existed
        command.downgrade(migrate._config(connection), migrate.BASELINE)
    first.engine.dispose()

    store = HistoryStore(f"sqlite:///{path}")
    assert migrate.current(store.engine) == migrate.head()
    view = store.get(run_id)
    assert view is not None and [r.result.content for r in view.results] == ["m1 says hi", "m2 says hi"]
    record_vote(store, run_id, outcome="winner", winner_position=0, seats=seats, blind=False)
    assert vote_for(store, run_id) is not None


def test_preference_pairs_are_jsonl_in_the_fine_tuning_shape_and_scrubbed(store: HistoryStore) -> None:
    secret = "sk-PLANTED-secret-0123456789"
    run_id, seats = stored_run(store, ["m1", "m2", "m3"], prompt="Name a colour", answers=["blue", f"red {secret}", "green"])
    record_vote(store, run_id, outcome="winner", winner_position=1, seats=seats, blind=True, tag="colours")
    tie_run, tie_seats = stored_run(store, ["m1", "m2"])
    record_vote(store, tie_run, outcome="tie", winner_position=None, seats=tie_seats, blind=True)
    records = load_votes(store).records
    text = to_jsonl(preference_pairs(store, records), Scrubber([secret]))
    assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(p["chosen_model"], p["rejected_model"]) for p in lines] == [("m2", "m1"), ("m2", "m3")]  # a tie is no preference
    first = lines[0]
    assert first["prompt"] == "Name a colour"
    assert first["messages"] == [{"role": "user", "content": "Name a colour"}]
    assert first["chosen"] == "red [redacted]" and first["rejected"] == "blue"
    assert first["tag"] == "colours" and first["blind"] is True and first["voted_at"].endswith("Z")


def test_ratings_csv_is_scrubbed_and_safe_to_open_in_a_spreadsheet(store: HistoryStore) -> None:
    run_id, seats = stored_run(store, ["m1", "m2"], prompt='=HYPERLINK("http://x")', answers=["@SUM(A1)", "fine"])
    save_rating(store, seats[0].result_id or 0, thumb=-1, stars=1, note="+1 leaks sk-PLANTED-secret-0123456789")
    text = ratings_csv(all_ratings(store), Scrubber(["sk-PLANTED-secret-0123456789"]))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["model"], row["thumb"], row["stars"], row["run_id"]) == ("m1", "down", "1", run_id)
    assert row["user_prompt"].startswith("'=") and row["answer"] == "'@SUM(A1)"
    assert row["note"] == "'+1 leaks [redacted]"


def test_votes_are_filtered_by_vote_time_and_tag(store: HistoryStore, tmp_path: Path) -> None:
    from datetime import datetime, timedelta

    old, old_seats = stored_run(store, ["m1", "m2"])
    new, new_seats = stored_run(store, ["m1", "m2"])
    record_vote(store, old, outcome="winner", winner_position=0, seats=old_seats, blind=True, tag="coding")
    record_vote(store, new, outcome="winner", winner_position=1, seats=new_seats, blind=True, tag="writing")
    db = sqlite3.connect(tmp_path / "history.db")
    db.execute("UPDATE votes SET created_at = datetime(created_at, '-3 days') WHERE run_id = ?", (old,))
    db.commit()
    db.close()
    since = datetime.now(UTC) - timedelta(days=1)
    assert [r.vote.run_id for r in load_votes(store, start=since).records] == [new]
    assert [r.vote.run_id for r in load_votes(store, end=since).records] == [old]
    assert [r.vote.run_id for r in load_votes(store, tags=["coding"]).records] == [old]
    assert len(load_votes(store, tags=["coding", "writing"]).records) == 2


def _open_store(url: str) -> None:
    HistoryStore(url)


def test_four_processes_opening_a_new_database_at_once_all_reach_the_judgments_revision(tmp_path: Path) -> None:
    """With two revisions to apply, a process that saw the baseline tables before the version row
    used to stamp a second version row ("overlaps with other requested revisions")."""
    import multiprocessing

    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_open_store, args=(url,)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    engine = create_engine(url)
    assert migrate.current(engine) == migrate.head()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
