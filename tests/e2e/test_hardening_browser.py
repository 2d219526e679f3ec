"""Issue 12 in a real browser (headless Debian Chromium): a key pasted with a line break, a provider
that reflects the key in a 200 answer, a broken history database and an unreadable settings file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from e2e_support import start_playground, stop_playground
from test_playground_browser import _status, settle, watch_columns

KEY = "sk-E2E-hardening-key-77aa88bb99cc00dd"


def test_reflected_key_and_broken_history_on_the_compare_page(page_factory: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from vv_llm.testing import FakeLLMServer, Reply

    def reflect(info: Any) -> Reply:
        return Reply(content=f"Your key is {KEY} (as a URL: {quote(KEY)}).", chunk_chars=6, chunk_delay=0.05)

    with FakeLLMServer(api_keys={KEY}, responder=reflect) as server:
        data = tmp_path / "data"
        data.mkdir()
        (data / "history.db").write_bytes(b"\x8fthis is not a database\xff" * 100)
        (data / "settings.json").write_text(
            json.dumps(
                {
                    "VERSION": "2",
                    "endpoints": [{"id": "pasted", "api_base": server.url("/v1"), "api_key": KEY + "\r\n"}],
                    "backends": {
                        "local": {"models": {"reflecting": {"endpoints": ["pasted"]}, "reflecting-too": {"endpoints": ["pasted"]}}}
                    },
                    "retry": {"max_attempts": 1},
                }
            )
        )
        playground = start_playground(data)
        try:
            page = page_factory()
            page.goto(playground.url)
            expect(page.get_by_role("heading", name="Compare models")).to_be_visible(timeout=90_000)  # a cold start on a busy machine
            expect(page.get_by_text("Runs will not be saved")).to_be_visible()  # said before anything runs
            settle(page)
            page.locator(".st-key-compare-setup [data-testid=stMultiSelect]").first.click()  # the first model is pre-selected
            page.keyboard.type("reflecting-too")
            page.get_by_role("option", name="reflecting-too · local").click()
            page.keyboard.press("Escape")
            settle(page)
            page.get_by_label("Prompt", exact=True).fill("Which key did I send?")
            sources = []
            page.get_by_role("button", name="Run").click()
            for _ in range(40):  # the live view while the answer streams in
                sources.append(page.content())
                page.wait_for_timeout(50)
            _, cards = watch_columns(page, 2)
            assert [_status(c) for c in cards] == ["Done", "Done"], cards  # the pasted line break was stripped
            expect(page.get_by_text("Your key is [redacted]").first).to_be_visible()
            expect(page.get_by_text("This run was not saved")).to_be_visible()
            sources.append(page.content())
            assert server.requests and server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
        finally:
            stop_playground(playground)
    assert any("[redacted]" in s for s in sources)
    assert all(KEY not in s and quote(KEY) not in s for s in sources)
    log = playground.log_text()
    assert "Traceback" not in log and KEY not in log


def test_an_unreadable_settings_file_is_reported_not_a_traceback(page_factory: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text('{"VERSION": "2", "token_server": ' + "[" * 100_000 + "]" * 100_000 + "}")
    playground = start_playground(data)
    try:
        page = page_factory()
        page.goto(playground.url)
        expect(page.get_by_role("heading", name="Compare models")).to_be_visible(timeout=90_000)  # a cold start on a busy machine
        expect(page.get_by_text("nested too deeply").first).to_be_visible()
        for link, title in (("History", "History"), ("Endpoints & models", "Endpoints & models")):
            page.get_by_role("link", name=link).click()
            expect(page.get_by_role("heading", name=title)).to_be_visible()
            settle(page)
    finally:
        stop_playground(playground)
    assert "Traceback" not in playground.log_text()
