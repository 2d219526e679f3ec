"""History's list reads only the page shown: every filter's pages, put together, are exactly the
runs a full read of the history finds for it (SQLite and PostgreSQL), in the same order."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest


@pytest.fixture
def history(history_url: str) -> Any:
    """~45 demo runs over 12 days, plus two runs at the same instant, one model twice in a run,
    and two thumbs-up ratings."""
    from app.history.demo_data import seed_demo_history
    from app.history.judgments import save_rating
    from app.history.models import Run, RunResult
    from app.history.store import HistoryStore

    store = HistoryStore(history_url)
    same_time = datetime(2026, 2, 25, 9, 30, tzinfo=UTC)
    with store.session() as s:
        for run_id, model in (("tie-a", "twin-model"), ("tie-b", "other-model")):
            s.add(Run(id=run_id, created_at=same_time, user_prompt=f"Tied prompt {run_id}", status="done"))
            s.flush()
            s.add(RunResult(run_id=run_id, model=model, status="done", content="A HAIKU about ties"))
            s.add(RunResult(run_id=run_id, position=1, model=model, status="done", content="again"))
        s.commit()
    # after the rows above: the writer numbers its results itself (PostgreSQL's sequence does not see them)
    seed_demo_history(store, days=12, seed=3, runs_per_day=(2, 5), now=datetime(2026, 3, 1, 12, tzinfo=UTC))
    for view in store.search(models=["demo-slow"], limit=2):
        save_rating(store, view.results[0].result.id, thumb=1)
    return store


def _everything(store: Any) -> tuple[list[Any], dict[str, list[Any]]]:
    from sqlmodel import select

    from app.history.models import Run, RunResult

    with store.session() as s:
        runs = list(s.exec(select(Run)).all())
        results = list(s.exec(select(RunResult)).all())
    by_run: dict[str, list[Any]] = defaultdict(list)
    for result in results:
        by_run[result.run_id].append(result)
    return runs, by_run


def test_pages_of_every_filter_are_exactly_the_matching_runs_newest_first(history: Any) -> None:
    from app.history.judgments import rating_condition

    store = history
    runs, by_run = _everything(store)
    ordered = sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)
    window = ordered[30].created_at, ordered[8].created_at  # as the database returns them
    rated = {v.run.id for v in store.search(where=rating_condition("up"), limit=None)}
    assert len(rated) == 2

    def matches(run: Any, text: str | None, models: list[str], start: Any, end: Any, thumbs_up: bool) -> bool:
        results = by_run[run.id]
        needle = (text or "").lower()
        return (
            (not models or any(r.model in models for r in results))
            and (start is None or run.created_at >= start)
            and (end is None or run.created_at < end)
            and (not thumbs_up or run.id in rated)
            and (
                not needle
                or needle in run.user_prompt.lower()
                or needle in (run.system_prompt or "").lower()
                or any(needle in r.content.lower() or needle in r.model.lower() for r in results)
            )
        )

    filters: list[tuple[str | None, list[str], Any, Any, bool]] = [
        (None, [], None, None, False),
        (None, ["demo-slow"], None, None, False),
        (None, ["demo-slow", "twin-model"], None, None, False),
        (None, ["no-such-model"], None, None, False),
        (None, [], *window, False),
        (None, ["demo-fast"], *window, False),
        ("haiku", [], None, None, False),
        ("HAIKU", ["demo-tools"], None, None, False),
        ("demo-thinker", [], None, None, False),  # a model's name is searchable text too
        (None, [], None, None, True),
        (None, ["demo-slow"], None, None, True),
    ]
    for text, models, start, end, thumbs_up in filters:
        where = rating_condition("up") if thumbs_up else None
        expected = [r.id for r in ordered if matches(r, text, models, start, end, thumbs_up)]
        everything = [v.run.id for v in store.search(text, models, start, end, limit=None, where=where)]
        assert everything == expected, (text, models, start, end, thumbs_up)
        paged: list[str] = []
        for offset in range(0, len(expected) + 7, 7):
            page = store.search(text, models, start, end, limit=7, offset=offset, where=where)
            assert len(page) == min(7, max(0, len(expected) - offset))
            paged += [v.run.id for v in page]
        assert paged == expected
        assert store.count(text, models, start, end, where) == len(expected)
        assert store.count(text, models, start, end, where, at_most=5) == min(5, len(expected))
        assert store.count(text, models, start, end, where, at_most=len(expected) + 1) == len(expected)
    assert [v.run.id for v in store.search(limit=None) if v.run.id.startswith("tie-")] == ["tie-b", "tie-a"]


def test_a_page_holds_the_runs_results_and_the_model_list_is_every_model(history: Any) -> None:
    store = history
    _, by_run = _everything(store)
    assert store.model_names() == sorted({r.model for results in by_run.values() for r in results})
    for view in store.search(models=["twin-model"], limit=20):
        assert [r.result.model for r in view.results] == ["twin-model", "twin-model"]  # the whole run, not only the matching rows
    first = store.search(limit=3)[0]
    assert [r.result.position for r in first.results] == sorted(r.position for r in by_run[first.run.id])
    assert all(r.messages for r in first.results)  # each result's conversation comes with it


def test_the_version_follows_new_runs_finished_results_and_deletions(history: Any) -> None:
    from app.history.store import HistoryStore

    store = history
    before = HistoryStore(store.url).version()  # another process's view: no writes of its own
    newest = store.search(limit=1)[0].run.id
    assert HistoryStore(store.url).version() == before
    store.delete([newest])
    assert HistoryStore(store.url).version() != before
