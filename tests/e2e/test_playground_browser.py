"""The playground in real headless Chromium against ``streamlit run``: compare, history, export, screenshots."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_support import SCREENSHOTS, app_log, start_playground, stop_playground

pytestmark = pytest.mark.e2e

PROMPT = "Compare SQLite and PostgreSQL for a small team, in two sentences."
KEY = "sk-PLANTED-e2e-key-0a1b2c3d4e5f6789"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
_STATUS = re.compile(r"\b(Waiting|Streaming|Done|Failed|Partial|Stopped)\b")
_CARDS = "n => Array.from({length: n}, (_, i) => { const e = document.querySelector('.st-key-result-' + i); return e ? e.innerText : '' })"


def _status(card: str) -> str | None:
    match = _STATUS.search(card[:300])
    return match.group(1) if match else None


_BUTTONS_ARE = "([key, disabled]) => { const b = document.querySelectorAll('.st-key-' + key + ' button'); return b.length > 0 && Array.from(b).every(e => e.disabled === disabled) }"


def wait_live_view_ended(page: Any, button_key: str = "stop-button", *, disabled: bool = True) -> None:
    """Wait for the page's own redraw of a finished run, told by a button the live view does not
    draw (Compare's Stop disabled; the matrix's Run enabled). While a run goes the live view
    redraws the results alone, so they show finished a moment before that redraw, which replaces
    them (a click on them in between is lost) and completes them."""
    page.wait_for_function(_BUTTONS_ARE, arg=[button_key, disabled])
    settle(page)


def watch_columns(page: Any, count: int, timeout: float = 90) -> tuple[set[int], list[str]]:
    """Poll the result cards until every one has finished, then wait for the page's own redraw of
    the finished run (cards clicked before it would be replaced under the click); returns the
    columns seen streaming and the finished cards."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        cards = page.evaluate(_CARDS, count)
        statuses = [_status(card) for card in cards]
        seen |= {i for i, s in enumerate(statuses) if s == "Streaming"}
        if all(s in ("Done", "Failed", "Partial", "Stopped") for s in statuses):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"columns did not finish: {statuses}")
        page.wait_for_timeout(40)
    wait_live_view_ended(page)
    return seen, page.evaluate(_CARDS, count)


def settle(page: Any) -> None:
    """Wait until the app has finished the rerun a click started (its buttons then hold fresh downloads)."""
    page.wait_for_timeout(100)
    page.wait_for_function(
        "() => { const app = document.querySelector('[data-testid=stApp]');"
        " return app && !['running', 'rerunRequested'].includes(app.getAttribute('data-test-script-state')) }"
    )


def _pick(page: Any, label: str) -> None:
    page.get_by_text(label, exact=True).click()
    settle(page)


def _go(page: Any, link: str, title: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=30_000)  # a loaded machine can take a while
    settle(page)


def _download(page: Any, button: str, attempts: int = 3) -> str:
    """Click a download button and read the file (clicked again if a rerun swallowed the click)."""
    for attempt in range(attempts):
        settle(page)
        try:
            with page.expect_download(timeout=10_000) as download:
                page.get_by_role("button", name=button).click()
        except Exception:
            if attempt == attempts - 1:
                raise
            continue
        return Path(download.value.path()).read_text(encoding="utf-8")
    raise AssertionError("unreachable")


def test_compare_three_demo_models_then_find_and_export_the_run(page_factory: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from app.history.demo_data import seed_demo_history
    from app.history.store import HistoryStore

    home = tmp_path / "home"
    data = home / ".local" / "share" / "vv-llm"  # the default data folder of a fresh user
    data.mkdir(parents=True)
    seed_demo_history(HistoryStore(f"sqlite:///{data / 'history.db'}"), days=13)  # two weeks of demo usage for the dashboard
    playground = start_playground(data, home=home, VV_LLM_DEMO_PACE="2")
    try:
        page = page_factory()
        page.goto(playground.url)
        expect(page.get_by_text("Demo mode")).to_be_visible(timeout=30_000)
        page.get_by_text("System prompt, tools and images").click()
        page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(
            files=[{"name": "dot.png", "mimeType": "image/png", "buffer": PNG}]
        )
        expect(page.get_by_text("dot.png")).to_be_visible()
        page.get_by_text("System prompt, tools and images").click()
        page.get_by_label("Prompt", exact=True).fill(PROMPT)
        settle(page)
        page.get_by_role("button", name="Run").click()
        streamed, cards = watch_columns(page, 3)
        assert [_status(c) for c in cards] == ["Done", "Done", "Done"], cards
        assert streamed == {0, 1, 2}, "each column showed its answer streaming in"
        assert "demo-fast" in cards[0] and "demo-thinker" in cards[1] and "demo-tools" in cards[2]
        assert all("TTFT" in c and "cached" in c for c in cards), cards
        assert any("tok/s" in c for c in cards), cards  # none when a starved client read a whole answer at once
        assert "Tool call" in cards[2] and "web_search" in cards[2]
        page.locator(".st-key-result-1").get_by_text("Reasoning", exact=True).click()
        expect(page.get_by_text("The user asks about").first).to_be_visible()
        page.wait_for_timeout(300)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "compare.png"))

        _go(page, "History", "History")
        page.get_by_label("Search").fill("SQLite and PostgreSQL")
        page.get_by_label("Search").press("Enter")
        expect(page.get_by_text("1 run match")).to_be_visible()
        card = page.locator("[class*='st-key-run-']").first
        expect(card).to_contain_text(PROMPT)
        card.get_by_test_id("stCheckbox").click()  # select it
        settle(page)
        expect(page.get_by_role("button", name="Export selected (1)")).to_be_enabled()
        markdown = _download(page, "Export selected (1)")
        assert markdown.startswith("# vv-llm history export (1 run)") and f"## {PROMPT}" in markdown
        _pick(page, "JSON")
        exported = json.loads(_download(page, "Export selected (1)"))
        run = exported["runs"][0]
        assert run["user_prompt"] == PROMPT
        assert [(r["model"], r["status"]) for r in run["results"]] == [
            ("demo-fast", "done"),
            ("demo-thinker", "done"),
            ("demo-tools", "done"),
        ]
        assert all(r["messages"][-1]["role"] == "assistant" for r in run["results"])
        assert run["image_count"] == 1
        image = run["results"][0]["messages"][0]["content"][1]
        assert image["type"] == "image_url" and image["image_url"]["url"].startswith("data:image/png;base64,")
        _pick(page, "CSV")
        rows = list(csv.DictReader(io.StringIO(_download(page, "Export selected (1)"))))
        assert [r["model"] for r in rows] == ["demo-fast", "demo-thinker", "demo-tools"]
        page.get_by_label("Search").fill("")
        page.get_by_label("Search").press("Enter")
        expect(page.get_by_text("1 run match")).to_be_hidden()
        page.get_by_text("Details").first.click()
        expect(page.locator(".st-key-hist-" + run["id"] + "-0")).to_be_visible()
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / "history.png"))

        _go(page, "Usage", "Usage")
        expect(page.get_by_text("Model calls")).to_be_visible()
        expect(page.locator(".vega-embed").first).to_be_visible()
        page.wait_for_timeout(800)  # let the charts finish drawing before the picture
        page.screenshot(path=str(SCREENSHOTS / "dashboard.png"))

        _go(page, "Endpoints & models", "Endpoints & models")
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.get_by_text("Added endpoint")).to_be_visible()
        expect(page.get_by_role("textbox", name="Base URL")).to_be_visible()
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / "endpoints.png"))
        page.get_by_role("tab", name="Backends & models").click()
        expect(page.get_by_text("Built-in catalogue for openai")).to_be_visible()
        settle(page)
        log = app_log(playground)
        assert "Traceback" not in log and "WARNING" not in log, log
    finally:
        stop_playground(playground)


def test_a_planted_key_reaches_no_page_database_export_or_log(page_factory: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from vv_llm.testing import FakeLLMServer, Reply, echo_responder

    def responder(info: Any) -> Reply:
        if info.model == "echoing":  # a provider that echoes the key in its error
            return Reply.error(401, f"Incorrect API key provided: {KEY}.")
        return echo_responder(info)

    with FakeLLMServer(api_keys={KEY}, responder=responder) as server:
        data = tmp_path / "data"
        data.mkdir()
        (data / "settings.json").write_text(
            json.dumps(
                {
                    "VERSION": "2",
                    "endpoints": [{"id": "planted", "api_base": server.url("/v1"), "api_key": KEY}],
                    "backends": {"local": {"models": {"planted-model": {"endpoints": ["planted"]}, "echoing": {"endpoints": ["planted"]}}}},
                    "retry": {"max_attempts": 1},
                }
            )
        )
        playground = start_playground(data)
        try:
            page = page_factory()
            page.goto(playground.url)
            expect(page.get_by_role("heading", name="Compare models")).to_be_visible(timeout=30_000)
            settle(page)
            page.locator(".st-key-compare-setup [data-testid=stMultiSelect]").first.click()  # the first model is pre-selected
            page.keyboard.type("echoing")
            page.get_by_role("option", name="echoing · local").click()
            page.keyboard.press("Escape")
            settle(page)
            page.get_by_label("Prompt", exact=True).fill("Is my key safe?")
            page.get_by_role("button", name="Run").click()
            _, cards = watch_columns(page, 2)
            assert [_status(c) for c in cards] == ["Done", "Failed"]
            assert "AuthenticationError" in cards[1] and "Incorrect API key provided" in cards[1]
            assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"  # the key was really used
            sources = [page.content()]

            _go(page, "History", "History")
            page.get_by_text("Details").first.click()
            sources.append(page.content())
            exports = [_download(page, "Export all 1 matching")]
            for fmt in ("JSON", "CSV"):
                _pick(page, fmt)
                exports.append(_download(page, "Export all 1 matching"))
            assert "Is my key safe?" in exports[0]

            _go(page, "Usage", "Usage")
            sources.append(page.content())
            _go(page, "Endpoints & models", "Endpoints & models")
            page.get_by_text("planted").first.click()
            sources.append(page.content())
            assert KEY[-4:] in sources[-1], "the editor shows the last 4 characters"
            page.get_by_role("tab", name="Import / export").click()
            settings_export = _download(page, "Download settings JSON")
            assert json.loads(settings_export)["endpoints"][0]["id"] == "planted"
            exports.append(settings_export)
            sources.append(page.content())
        finally:
            stop_playground(playground)

    assert all(KEY not in source for source in sources)
    assert all(KEY not in export for export in exports)
    database = b"".join(p.read_bytes() for p in data.glob("history.db*"))
    assert database and KEY.encode() not in database
    assert KEY not in playground.log_text()
    assert "Traceback" not in app_log(playground)
