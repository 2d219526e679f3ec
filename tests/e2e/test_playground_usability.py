"""Playground usability in real headless Chromium: what a user types is what is used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e_support import start_playground, stop_playground
from test_playground_browser import settle

pytestmark = pytest.mark.e2e

OLD_KEY = "sk-OLD-saved-key-00000000"
NEW_KEYS = {"by-tab": "sk-NEW-tab-key-11111111", "by-enter": "sk-NEW-enter-key-2222222", "by-paste": "sk-NEW-paste-key-3333333"}


def _endpoint_box(page: Any, endpoint_id: str) -> Any:
    """The endpoint's expander on the Endpoints tab (its header reads ``id · host · key …``)."""
    return page.locator("[data-testid=stExpander]").filter(has=page.locator("summary", has_text=f"{endpoint_id} ·"))


def test_a_key_typed_over_a_saved_one_is_the_key_tested_and_saved_whether_tab_enter_or_paste(page_factory: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from vv_llm.testing import FakeLLMServer

    with FakeLLMServer(api_keys=set(NEW_KEYS.values())) as server:
        data = tmp_path / "data"
        data.mkdir()
        endpoints = [{"id": name, "api_base": server.url("/v1"), "api_key": OLD_KEY} for name in NEW_KEYS]
        (data / "settings.json").write_text(
            json.dumps({"VERSION": "2", "endpoints": endpoints, "backends": {"local": {"models": {"m": {"endpoints": list(NEW_KEYS)}}}}})
        )
        playground = start_playground(data)
        try:
            page = page_factory()
            page.context.grant_permissions(["clipboard-read", "clipboard-write"])
            page.goto(f"{playground.url}/endpoints")
            expect(page.get_by_role("heading", name="Endpoints & models")).to_be_visible()
            settle(page)
            for endpoint_id, new_key in NEW_KEYS.items():
                box = _endpoint_box(page, endpoint_id)
                expect(box).to_contain_text("••••" + OLD_KEY[-4:])
                box.get_by_text(endpoint_id, exact=True).click()  # open it
                field = box.get_by_role("textbox", name="API key")
                expect(field).to_have_attribute("placeholder", f"saved: ••••••••{OLD_KEY[-4:]} — type to replace")
                field.click()
                if endpoint_id == "by-tab":
                    field.press_sequentially(new_key)
                    field.press("Tab")
                elif endpoint_id == "by-enter":
                    field.press_sequentially(new_key)
                    field.press("Enter")
                else:
                    page.evaluate("key => navigator.clipboard.writeText(key)", new_key)
                    field.press("Control+V")
                expect(field).to_have_value(new_key)
                seen = len(server.requests)
                box.get_by_role("button", name="Test connection").click()  # at once: no wait for any rerun
                expect(box.get_by_text("Connected")).to_be_visible()
                assert [r.headers["authorization"] for r in server.requests[seen:]] == [f"Bearer {new_key}"], endpoint_id
                # the header, drawn above the field, already names the new key; the form says it is not saved
                expect(box.locator("summary").first).to_contain_text("••••" + new_key[-4:])
                expect(box).to_contain_text("not saved yet")
                expect(page.get_by_text("You have unsaved changes.")).to_be_visible()
            page.get_by_role("button", name="Save").click()
            expect(page.locator("[data-testid=stAlert]").filter(has_text="Saved to")).to_be_visible()
            saved = json.loads((data / "settings.json").read_text())
            assert {e["id"]: e["api_key"] for e in saved["endpoints"]} == NEW_KEYS
            settle(page)
            box = _endpoint_box(page, "by-tab")
            box.locator("summary").first.click()  # saved endpoints with a key start closed
            expect(box.get_by_role("textbox", name="API key")).to_have_attribute(
                "placeholder", f"saved: ••••••••{NEW_KEYS['by-tab'][-4:]} — type to replace"
            )
            expect(box.get_by_role("textbox", name="API key")).to_have_value("")
            page_source = page.content()
            assert all(key not in page_source for key in [OLD_KEY, *NEW_KEYS.values()])
            log = playground.log_text()
            assert "Traceback" not in log and OLD_KEY not in log
        finally:
            stop_playground(playground)


def test_from_demo_to_a_first_real_endpoint_with_keyboard_runs_and_copy(page_factory: Any, tmp_path: Path) -> None:
    """A new user: demo first, adds an endpoint, tests and saves it, runs the real model next to a
    demo one with Ctrl+Enter, copies an answer, sends a follow-up with Ctrl+Enter."""
    from playwright.sync_api import expect
    from test_playground_browser import SCREENSHOTS, watch_columns

    from vv_llm.testing import FakeLLMServer
    from vv_llm.testing.demo import DEMO_MODELS, _answer

    key = "sk-first-real-key-44444444"
    with FakeLLMServer(api_keys={key}) as server:
        playground = start_playground(tmp_path / "data", VV_LLM_DEMO_PACE="0.3")
        try:
            page = page_factory()
            page.context.grant_permissions(["clipboard-read", "clipboard-write"])
            page.goto(playground.url)
            expect(page.get_by_text("no API key is configured yet")).to_be_visible()

            page.get_by_role("link", name="Endpoints & models").click()
            expect(page.get_by_role("heading", name="Endpoints & models")).to_be_visible()
            settle(page)
            page.get_by_role("button", name="Add endpoint").click()
            settle(page)
            box = _endpoint_box(page, "openai-default")
            expect(box.get_by_role("textbox", name="Base URL")).to_be_visible()
            box.get_by_role("textbox", name="Base URL").fill(server.url(""))
            box.get_by_role("textbox", name="Base URL").press("Enter")
            expect(box.get_by_text(f"{server.url('')}/v1")).to_be_visible()  # the /v1 hint
            settle(page)
            box.get_by_role("textbox", name="Base URL").fill(server.url("/v1"))
            box.get_by_role("textbox", name="Base URL").press("Tab")
            settle(page)
            field = box.get_by_role("textbox", name="API key")
            field.click()
            field.press_sequentially(key)
            field.press("Tab")
            box.get_by_role("button", name="Test connection").click()
            expect(box.get_by_text("Connected")).to_be_visible()
            page.wait_for_timeout(300)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "endpoints-first-key.png"))
            page.get_by_role("button", name="Save").click()
            expect(page.locator("[data-testid=stAlert]").filter(has_text="Saved to")).to_be_visible()
            settle(page)
            expect(page.get_by_text("model(s) usable on Compare")).to_be_visible()

            page.get_by_role("link", name="Compare").click()
            expect(page.get_by_role("heading", name="Compare models")).to_be_visible()
            settle(page)
            expect(page.get_by_text("from the built-in catalogue (openai)")).to_be_visible()
            expect(page.get_by_text("no API key is configured yet")).to_be_hidden()
            picker = page.locator(".st-key-compare-setup [data-testid=stMultiSelect]").first
            expect(picker).to_contain_text("gpt-5 · openai")
            picker.click()
            page.keyboard.type("demo-fast")
            page.get_by_role("option", name="demo-fast · local · demo (offline simulator)").click()
            page.keyboard.press("Escape")
            settle(page)
            prompt = "Compare SQLite and PostgreSQL for a small team."
            page.get_by_label("Prompt", exact=True).fill(prompt)
            page.get_by_label("Prompt", exact=True).press("Control+Enter")
            _, cards = watch_columns(page, 2)
            settle(page)
            assert ["Done" in c[:300] for c in cards] == [True, True], cards
            assert "gpt-5" in cards[0] and "demo-fast" in cards[1] and "simulated" in cards[1] and "simulated" not in cards[0]
            assert server.requests[-1].headers["authorization"] == f"Bearer {key}"

            page.locator(".st-key-result-1").get_by_role("button", name="Copy answer").click()
            expect(page.locator(".st-key-result-1").get_by_role("button", name="Copied")).to_be_visible()
            demo_fast = next(m for m in DEMO_MODELS if m.name == "demo-fast")
            assert page.evaluate("() => navigator.clipboard.readText()") == _answer(demo_fast, prompt), "the whole raw Markdown"

            expect(page.get_by_role("button", name="Send follow-up")).to_be_enabled()
            page.get_by_label("Prompt", exact=True).fill("And for a team of fifty?")
            page.get_by_label("Prompt", exact=True).press("Control+Enter")
            expect(page.get_by_text("Turn 2 · run")).to_be_visible()
            watch_columns(page, 2)
            settle(page)
            page.wait_for_timeout(300)
            page.screenshot(path=str(SCREENSHOTS / "compare-real-and-demo.png"))
            log = playground.log_text()
            assert "Traceback" not in log and key not in log
        finally:
            stop_playground(playground)


_NO_CARDS = "() => !document.querySelector(\"[class*='st-key-result-']\")"
_NEW_RUN_CARDS = "() => document.querySelectorAll('.st-key-result-2').length === 1"


def _retained_badges(cdp: Any) -> int:
    """Badge elements (live or detached) in a heap snapshot taken after forced garbage collection."""
    for _ in range(3):
        cdp.send("HeapProfiler.collectGarbage")
    chunks: list[str] = []
    cdp.on("HeapProfiler.addHeapSnapshotChunk", lambda event: chunks.append(event["chunk"]))
    cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
    snapshot = json.loads("".join(chunks))
    fields = snapshot["snapshot"]["meta"]["node_fields"]
    name_at, width = fields.index("name"), len(fields)
    strings, nodes = snapshot["strings"], snapshot["nodes"]
    return sum(1 for k in range(0, len(nodes), width) if strings[nodes[k + name_at]].startswith('<span class="stMarkdownBadge"'))


def test_the_compare_tab_releases_each_runs_cards(page_factory: Any, tmp_path: Path) -> None:
    """Many runs in one tab: the cards of finished runs are garbage once replaced (they used to stay in memory)."""
    from test_playground_browser import watch_columns

    playground = start_playground(tmp_path / "data", VV_LLM_DEMO_PACE="0.05")
    try:
        page = page_factory()
        page.goto(playground.url)
        page.locator(".st-key-prompt textarea").wait_for()
        cdp = page.context.new_cdp_session(page)

        def run(i: int) -> None:
            if i:
                page.locator(".st-key-new-button button").last.click()
                page.wait_for_function(_NO_CARDS)  # the last run's cards are gone: any card is the next run's
            settle(page)
            page.locator(".st-key-prompt textarea").fill(f"Run {i}: explain RAG briefly")
            page.locator(".st-key-prompt textarea").press("Control+Enter")
            page.wait_for_function(_NEW_RUN_CARDS)  # the new run's last card, drawn once
            watch_columns(page, 3)
            page.wait_for_timeout(300)

        for i in range(3):
            run(i)
        page.wait_for_timeout(2500)  # the page script's sweep runs every 2 s
        early = _retained_badges(cdp)
        for i in range(3, 12):
            run(i)
        page.wait_for_timeout(2500)
        late = _retained_badges(cdp)
        # one run's three cards hold ~40 badges: nine more runs would add ~360 if their cards stayed
        assert late - early < 40, (early, late)
    finally:
        stop_playground(playground)
