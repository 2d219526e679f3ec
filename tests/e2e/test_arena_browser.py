"""Blind arena in real headless Chromium: names hidden in the page source until the vote, then the
leaderboard and the preference-pair download (fresh HOME, offline demo models)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e_support import SCREENSHOTS, app_log, start_playground, stop_playground
from test_playground_browser import _download, _go, settle, watch_columns

pytestmark = pytest.mark.e2e

DEMO = ("demo-fast", "demo-thinker", "demo-tools")
PROMPT = "Suggest a name for a friendly robot, with one reason."


def test_blind_vote_reveals_names_then_ranks_and_exports_preferences(page_factory: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from app.arena.demo_votes import seed_demo_votes
    from app.history.demo_data import seed_demo_history
    from app.history.store import HistoryStore

    home = tmp_path / "home"
    data = home / ".local" / "share" / "vv-llm"  # a fresh user: nothing there yet
    playground = start_playground(data, home=home, VV_LLM_DEMO_PACE="0.5")
    try:
        page = page_factory()
        page.goto(playground.url)
        expect(page.get_by_text("Demo mode")).to_be_visible(timeout=30_000)
        page.get_by_text("Blind mode", exact=True).click()
        settle(page)
        page.get_by_label("Prompt", exact=True).fill(PROMPT)
        settle(page)
        page.get_by_role("button", name="Run").click()
        _, cards = watch_columns(page, 3)
        settle(page)
        expect(page.get_by_role("button", name="Model B is best")).to_be_visible(timeout=30_000)
        cards = [page.locator(f".st-key-result-{i}").inner_text() for i in range(3)]
        assert [c.splitlines()[0] for c in cards] == ["Model A", "Model B", "Model C"]
        source = page.content()
        for name in (*DEMO, "demo fast", "local/demo", "demo-endpoint"):
            assert name not in source, f"{name!r} is in the page source before the vote"
        assert "TTFT" not in source and "$0" not in source, "no metrics or costs while blind"
        page.wait_for_timeout(300)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "arena-blind.png"))

        page.get_by_role("button", name="Model B is best").click()
        settle(page)
        expect(page.get_by_text("Your vote:")).to_be_visible(timeout=30_000)
        revealed = page.locator(".st-key-judge-vote").inner_text()
        assert all(name in revealed for name in DEMO), revealed
        model_b = page.locator(".st-key-result-1").inner_text().splitlines()[0]
        assert model_b.startswith("Model B · ") and model_b.split(" · ")[1] in DEMO
        winner = model_b.split(" · ")[1]
        expect(page.get_by_role("button", name=f"Continue with {winner} (winner)")).to_be_visible()
        picker = page.locator(".st-key-compare_models").inner_text()
        assert all(name in picker for name in DEMO), f"the model picker shows its models again: {picker!r}"
        page.evaluate("document.querySelector('.st-key-judge-continue').scrollIntoView({block: 'end'})")
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / "arena-revealed.png"))

        _go(page, "Leaderboard", "Leaderboard")
        expect(page.get_by_text("not meaningful yet")).to_be_visible(timeout=30_000)
        lines = [json.loads(line) for line in _download(page, "Preference pairs (JSONL, 1 votes)").splitlines()]
        assert len(lines) == 2
        assert {p["chosen_model"] for p in lines} == {winner}
        assert {p["rejected_model"] for p in lines} == set(DEMO) - {winner}
        assert all(p["prompt"] == PROMPT and p["messages"] == [{"role": "user", "content": PROMPT}] for p in lines)
        assert all(p["chosen"] and p["rejected"] and p["blind"] is True and p["voted_at"].endswith("Z") for p in lines)

        store = HistoryStore(f"sqlite:///{data / 'history.db'}")  # two weeks of seeded votes, for a meaningful board
        seed_demo_history(store, days=13)
        seed_demo_votes(store)
        page.reload()
        expect(page.get_by_role("heading", name="Ranking")).to_be_visible(timeout=30_000)
        expect(page.locator(".vega-embed").nth(1)).to_be_visible(timeout=30_000)
        settle(page)
        page.wait_for_timeout(800)  # let the charts finish drawing before the picture
        page.screenshot(path=str(SCREENSHOTS / "leaderboard.png"))
        log = app_log(playground)
        assert "Traceback" not in log and "WARNING" not in log, log
    finally:
        stop_playground(playground)
