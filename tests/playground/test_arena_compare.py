"""Judging on Compare (AppTest, offline demo models): blind labels, votes, ratings, continue with the winner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playground_helpers import history_store, page_source, texts, wait_for_run

from app.history.judgments import load_votes, ratings_for, result_ids, vote_for

DEMO = ["demo-fast", "demo-thinker", "demo-tools"]


def _compare(at: Any, prompt: str, *, blind: bool) -> Any:
    at.run()
    if blind:
        at.toggle(key="blind_mode").set_value(True).run()
    at.text_area(key="prompt").set_value(prompt)
    at.button(key="run-button").click().run()
    assert not at.exception, at.exception
    return wait_for_run(at)


def test_blind_mode_hides_every_model_name_until_the_vote_then_reveals_them(app: Any, data_dir: Path) -> None:
    at = _compare(app, "Explain RAG in one line", blind=True)
    source = page_source(at)
    for name in [*DEMO, "demo fast", "local/", "demo-endpoint"]:
        assert name not in source, f"{name!r} is in the page before the vote"
    headings = [t for t in texts(at.markdown) if t.startswith("### Model ")]
    assert headings == ["### Model A", "### Model B", "### Model C"]
    assert not any("TTFT" in t or "$" in t for t in texts(at.markdown)), "no metrics or cost while blind"
    assert any("Names are hidden until you vote" in t for t in texts(at.markdown))
    assert not at.multiselect  # the model picker names the models: not drawn while blind

    run = at.session_state["conversation"].current.run
    seating = at.session_state["blind_seatings"][run.id]
    winner_column = seating.order[1]  # the answer shown as Model B
    at.button(key="vote-slot-1").click().run()
    assert not at.exception

    vote = vote_for(history_store(data_dir), run.id)
    assert vote is not None and vote.blind and vote.outcome == "winner" and vote.winner_position == winner_column
    seats = json.loads(vote.seating)
    assert [s["label"] for s in seats] == ["Model A", "Model B", "Model C"]
    assert [s["model"] for s in seats] == [DEMO[c] for c in seating.order]  # which model sat where
    assert {s["position"] for s in seats} == {0, 1, 2}

    revealed = " ".join(texts(at.success))
    assert all(name.replace("-", "\\-") in revealed for name in DEMO)
    assert f"Model B \\({DEMO[winner_column].replace('-', chr(92) + '-')}\\) is best" in revealed
    assert any(t.startswith("### Model B · ") for t in texts(at.markdown))
    assert at.multiselect(key="compare_models").value == [f"local/{m}" for m in DEMO]  # the picker kept its models


def test_voting_again_replaces_the_vote_and_a_tie_is_recorded_as_such(app: Any, data_dir: Path) -> None:
    at = _compare(app, "Pick one", blind=False)
    run = at.session_state["conversation"].current.run
    assert "blind_seatings" not in at.session_state or run.id not in at.session_state["blind_seatings"]
    labels = [b.label for b in at.button if (b.key or "").startswith("vote-slot-")]
    assert labels == [f"{m} is best" for m in DEMO]  # names shown when not blind
    at.text_input(key="vote_tag").set_value("warm-up")
    at.button(key="vote-slot-0").click().run()
    at.button(key="vote-tie").click().run()
    load = load_votes(history_store(data_dir))
    assert len(load.records) == 1
    vote = load.records[0].vote
    assert (vote.outcome, vote.winner_position, vote.blind, vote.tag) == ("tie", None, False, "warm-up")
    assert any("Your vote: **a tie**" in t for t in texts(at.success))


def test_each_answer_can_be_rated_and_the_rating_is_stored(app: Any, data_dir: Path) -> None:
    at = _compare(app, "Rate me", blind=True)
    run = at.session_state["conversation"].current.run
    seating = at.session_state["blind_seatings"][run.id]
    assert len(at.feedback) == 6  # thumbs and stars under each of the three answers
    store = history_store(data_dir)
    ids = result_ids(store, run.id)
    first_shown = ids[seating.order[0]]
    keys = [f.key for f in at.feedback]
    assert keys[:2] == [f"rate-{run.id[:12]}-0-thumbs", f"rate-{run.id[:12]}-0-stars"]  # by screen slot, never by result id
    at.feedback(key=f"rate-{run.id[:12]}-0-thumbs").set_value(1).run()
    at.feedback(key=f"rate-{run.id[:12]}-0-stars").set_value(3).run()
    at.text_input(key=f"rate-{run.id[:12]}-0-note").set_value("clear and short").run()
    assert not at.exception
    rating = ratings_for(store, [first_shown])[first_shown]
    assert (rating.thumb, rating.stars, rating.note) == (1, 4, "clear and short")
    assert page_source(at).count("demo-") == 0, "rating does not reveal the names either"


def test_continue_with_the_winner_alone_carries_its_own_conversation(app: Any, data_dir: Path) -> None:
    at = _compare(app, "First question", blind=False)
    first = at.session_state["conversation"].current.run
    at.button(key="vote-slot-1").click().run()
    assert at.button(key="continue-1").label == "Continue with demo-thinker (winner)"
    at.button(key="continue-1").click().run()
    conversation = at.session_state["conversation"]
    assert conversation.refs == ["local/demo-thinker"]
    assert at.multiselect(key="compare_models").value == ["local/demo-thinker"]
    assert any("Continuing with **demo\\-thinker** alone" in t for t in texts(at.success))
    assert at.button(key="run-button").label == "Send follow-up" and not at.button(key="run-button").disabled
    at.feedback(key=f"rate-{first.id[:12]}-0-stars").set_value(4).run()  # rates the kept answer, column 1 of that run
    store = history_store(data_dir)
    kept = result_ids(store, first.id)[1]
    assert ratings_for(store, [kept])[kept].stars == 5

    at.text_area(key="prompt").set_value("And then?")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    assert not at.exception
    second = at.session_state["conversation"].current.run
    assert [s.model for s in second.snapshot()] == ["demo-thinker"] and second.states[0].status == "done"
    sent = second.requests[0].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == first.states[1].content  # its own answer, not another column's

    branch = store.get(second.id)
    assert branch is not None and branch.run.parent_id == first.id
    assert [r.result.model for r in branch.results] == ["demo-thinker"]
    at.feedback(key=f"rate-{second.id[:12]}-0-thumbs").set_value(0).run()
    down = result_ids(store, second.id)[0]
    assert ratings_for(store, [down])[down].thumb == -1


def test_fork_a_new_comparison_from_an_earlier_turn(app: Any, data_dir: Path) -> None:
    at = _compare(app, "Turn one", blind=False)
    first = at.session_state["conversation"].current.run
    at.text_area(key="prompt").set_value("Turn two")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    at.selectbox(key="fork_turn").set_value(1)
    at.button(key="fork-button").click().run()
    conversation = at.session_state["conversation"]
    assert len(conversation.turns) == 1 and conversation.current.run.id == first.id
    at.text_area(key="prompt").set_value("Turn two, differently")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    forked = at.session_state["conversation"].current.run
    store = history_store(data_dir)
    children = [v for v in store.search(limit=10) if v.run.parent_id == first.id]
    assert len(children) == 2 and forked.id in {v.run.id for v in children}  # two branches from turn one
    assert [m["content"] for m in forked.requests[0].messages if m["role"] == "user"] == ["Turn one", "Turn two, differently"]


def test_a_run_reopened_from_history_is_not_judged_blind(app: Any, data_dir: Path) -> None:
    at = _compare(app, "Seen before", blind=False)
    run = at.session_state["conversation"].current.run
    at.session_state["restore_run"] = run.id  # what History's "Open in Compare" does
    at.toggle(key="blind_mode").set_value(True).run()
    assert not at.exception
    assert "### demo\\-fast" in texts(at.markdown), "names stay visible"
    at.button(key="vote-slot-0").click().run()
    vote = vote_for(history_store(data_dir), run.id)
    assert vote is not None and not vote.blind
