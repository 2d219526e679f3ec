"""History shows and edits judgments (rating filter, branch, vote); the Leaderboard page ranks the votes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from arena_helpers import stored_run
from playground_helpers import history_store, texts

from app.arena.demo_votes import seed_demo_votes
from app.arena.ranking import MIN_VOTES
from app.history.demo_data import seed_demo_history
from app.history.judgments import ratings_for, record_vote, save_rating


def _history(app: Any) -> Any:
    at = app.run()
    at.switch_page("app/pages/history.py").run()
    assert not at.exception, at.exception
    return at


def _leaderboard(app: Any) -> Any:
    at = app.run()
    at.switch_page("app/pages/leaderboard.py").run()
    assert not at.exception, at.exception
    return at


def test_history_filters_by_rating_and_edits_a_rating_in_place(app: Any, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = history_store(data_dir)
    liked, liked_seats = stored_run(store, ["m1", "m2"], prompt="liked run")
    stored_run(store, ["m1", "m2"], prompt="unrated run")
    disliked, disliked_seats = stored_run(store, ["m1", "m2"], prompt="disliked run")
    save_rating(store, liked_seats[0].result_id or 0, thumb=1, stars=5)
    save_rating(store, disliked_seats[1].result_id or 0, thumb=-1, note="wrong")

    at = _history(app)
    assert any("3 runs match" in t for t in texts(at.caption))
    at.selectbox(key="history_rating").set_value("up").run()
    assert any("1 run match" in t for t in texts(at.caption))
    assert [c.label for c in at.checkbox] == ["**liked run**"]
    assert any("m1 👍 ★★★★★" in t for t in texts(at.caption))
    at.selectbox(key="history_rating").set_value("noted").run()
    assert [c.label for c in at.checkbox] == ["**disliked run**"]
    at.selectbox(key="history_rating").set_value("unrated").run()
    assert [c.label for c in at.checkbox] == ["**unrated run**"]

    at.selectbox(key="history_rating").set_value("down").run()
    rid = disliked_seats[1].result_id or 0
    at.feedback(key=f"hist-rate-{rid}-thumbs").set_value(1).run()  # changed my mind: thumbs up
    assert not at.exception
    assert ratings_for(store, [rid])[rid].thumb == 1 and ratings_for(store, [rid])[rid].note == "wrong"
    at.run()
    assert any("0 runs match" in t for t in texts(at.caption))
    del liked, disliked


def test_history_shows_the_vote_and_where_a_conversation_branched(app: Any, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = history_store(data_dir)
    root, seats = stored_run(store, ["demo-fast", "demo-thinker"], prompt="root")
    record_vote(store, root, outcome="winner", winner_position=1, seats=seats, blind=True, tag="qa")
    for prompt in ("branch one", "branch two"):
        child, _ = stored_run(store, ["demo-thinker"], prompt=prompt)
        db = sqlite3.connect(data_dir / "history.db")
        db.execute("UPDATE runs SET parent_id = ? WHERE id = ?", (root, child))
        db.commit()
        db.close()
    at = _history(app)
    captions = " ".join(texts(at.caption))
    assert "branches into 2 follow-ups" in captions
    assert "vote: demo\\-thinker best (blind) · tag qa" in captions
    assert captions.count(f"follow-up of `{root[:8]}` (one model continued)") == 2


def test_deleting_a_run_from_history_deletes_its_vote(app: Any, data_dir: Path) -> None:
    from app.history.judgments import load_votes

    data_dir.mkdir(parents=True, exist_ok=True)
    store = history_store(data_dir)
    run_id, seats = stored_run(store, ["m1", "m2"], prompt="to delete")
    record_vote(store, run_id, outcome="winner", winner_position=0, seats=seats, blind=False)
    at = _history(app)
    at.button(key=f"delete-{run_id}").click().run()
    assert not at.exception
    assert load_votes(store).records == []


def test_leaderboard_ranks_seeded_votes_with_intervals_and_a_heatmap(app: Any, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = history_store(data_dir)
    seed_demo_history(store, days=13)
    votes = seed_demo_votes(store)
    at = _leaderboard(app)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Votes"] == str(votes) and metrics["Models"] == "5"
    table = at.dataframe[0].value
    assert list(table.columns[:6]) == ["Rank", "Model", "Score", "95% CI", "Votes", "Win rate"]
    assert set(table["Model"]) == {"demo-fast", "demo-thinker", "demo-tools", "demo-slow", "demo-messages"}
    assert list(table["Score"]) == sorted(table["Score"], reverse=True)
    assert table["Model"].iloc[0] == "demo-thinker"  # the strongest hidden strength wins with this many votes
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # scores with intervals, pairwise heatmap
    heatmap = json.dumps(json.loads(charts[1].proto.spec))
    assert '"rect"' in heatmap and '"Win rate"' in heatmap and '"Opponent"' in heatmap

    at.multiselect(key="leaderboard_tags").set_value(["coding"]).run()
    assert int({m.label: m.value for m in at.metric}["Votes"]) < votes


def test_leaderboard_says_not_meaningful_below_a_handful_of_votes_and_reports_bad_rows(app: Any, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = history_store(data_dir)
    for _ in range(MIN_VOTES - 2):
        run_id, seats = stored_run(store, ["m1", "m2"])
        record_vote(store, run_id, outcome="winner", winner_position=0, seats=seats, blind=True)
    broken, _ = stored_run(store, ["m1", "m2"])
    db = sqlite3.connect(data_dir / "history.db")
    db.execute(
        "INSERT INTO votes (run_id, created_at, outcome, winner_position, blind, tag, seating) VALUES (?, '2026-12-01 10:00:00', 'winner', 0, 1, '', 'oops')",
        (broken,),
    )
    db.commit()
    db.close()
    at = _leaderboard(app)
    assert any("not meaningful yet" in t for t in texts(at.info))
    assert not at.dataframe
    assert any("Skipped 1 vote row" in e.label for e in at.expander)
    assert any("not valid JSON" in t for t in texts(at.text))
