"""Prompt sets & matrix in real headless Chromium: upload a CSV with a variable, run 3 prompts × 2 demo
models, watch the progress reach done, diff two answers, find the run in History and export it."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_support import SCREENSHOTS, app_log, start_playground, stop_playground
from test_playground_browser import _download, _go, _pick, _status, settle, wait_live_view_ended

pytestmark = pytest.mark.e2e

TEMPLATE = "Give one surprising fact about {{city}}."
CITIES = ("Paris", "Kyoto", "Lagos")
_CELLS = "() => Array.from(document.querySelectorAll('[class*=\"st-key-cell-\"]')).map(e => e.innerText)"


def _upload(page: Any, name: str, data: bytes) -> None:
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}]
    )
    settle(page)


def watch_cells(page: Any, count: int, timeout: float = 120) -> list[str]:
    """Poll the matrix until ``count`` cells show Done (or fail); returns their text."""
    deadline = time.monotonic() + timeout
    while True:
        cells = page.evaluate(_CELLS)
        if len(cells) == count and all(_status(c) in ("Done", "Failed", "Partial", "Stopped") for c in cells):
            return cells
        if time.monotonic() > deadline:
            raise AssertionError(f"cells did not finish: {cells}")
        page.wait_for_timeout(100)


def test_upload_a_csv_run_the_matrix_diff_two_answers_and_export_it(page_factory: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    home = tmp_path / "home"  # a fresh user: nothing in ~/.local/share/vv-llm yet
    home.mkdir()
    playground = start_playground(home / ".local" / "share" / "vv-llm", home=home, VV_LLM_DEMO_PACE="0.6")
    try:
        page = page_factory()
        page.goto(playground.url)
        expect(page.get_by_text("Demo mode")).to_be_visible(timeout=30_000)  # the first start loads the demo backend
        _go(page, "Prompt sets", "Prompt sets & matrix")
        page.get_by_role("textbox", name="Prompt template").fill(TEMPLATE)
        page.get_by_role("textbox", name="Name", exact=True).click()  # leaving the template applies it: the table gets a city column
        settle(page)

        _upload(page, "wrong.csv", b"town\nParis\n")
        expect(page.get_by_text("wrong.csv was not loaded")).to_be_visible()
        expect(page.get_by_text("unknown column 'town'", exact=False)).to_be_visible()
        _upload(page, "cities.csv", ("city\n" + "\n".join(CITIES) + "\n").encode())
        expect(page.get_by_text("Loaded 3 rows from cities.csv")).to_be_visible()
        expect(page.get_by_text("wrong.csv was not loaded")).to_be_hidden()
        expect(page.get_by_text("Estimated cost: at most")).to_be_visible()

        page.get_by_role("button", name="Run 6 cells").click()
        watch_cells(page, 6)
        wait_live_view_ended(page, "matrix-run-button", disabled=False)
        expect(page.locator(".st-key-matrix-grid")).to_have_count(1)
        cells = page.evaluate(_CELLS)  # as the finished page shows them
        assert [_status(c) for c in cells] == ["Done"] * 6, cells
        assert all("TTFT" in c for c in cells), cells
        assert all("Answer (" in c and " out 0 " not in c for c in cells), cells  # every cell has its answer
        # tok/s needs time between the first and last token: a client starved of CPU may read a
        # whole answer at once, and then shows no rate (the rate is undefined, not a bug)
        assert any("tok/s" in c for c in cells), cells
        expect(page.get_by_text("6 / 6 cells")).to_be_visible()
        expect(page.get_by_text("· done")).to_be_visible()
        grid = page.locator(".st-key-matrix-grid").inner_text()
        assert all(f"Give one surprising fact about {city}." in grid for city in CITIES)

        page.get_by_text("Diff two answers of a row").click()
        diff = page.locator(".vv-diff")
        expect(diff).to_be_visible()
        assert diff.locator("ins").count() > 0 and diff.locator("del").count() > 0
        expect(page.get_by_text("Word diff")).to_be_visible()
        page.set_viewport_size({"width": 1440, "height": 2300})  # the estimate, progress, summary, matrix and diff in one picture
        page.locator(".st-key-matrix-setup").scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "matrix.png"))
        page.set_viewport_size({"width": 1440, "height": 1600})
        page.locator(".st-key-cell-0-1").get_by_text("Answer (").click()
        expect(page.locator(".st-key-cell-0-1").get_by_text("Answer to")).to_be_visible()  # the answer, expanded

        _go(page, "History", "History")
        card = page.locator("[class*='st-key-run-']").first
        expect(card).to_contain_text("Matrix · ")
        expect(card).to_contain_text("Matrix 3 × 2 · Done")
        card.get_by_test_id("stCheckbox").click()
        settle(page)
        markdown = _download(page, "Export selected (1)")
        assert (
            "**Matrix** 3 prompts × 2 models" in markdown
            and "### Row 3" in markdown
            and "> Give one surprising fact about Lagos." in markdown
        )
        _pick(page, "JSON")
        run = json.loads(_download(page, "Export selected (1)"))["runs"][0]
        assert run["matrix"]["rows"] == [{"city": c} for c in CITIES] and run["matrix"]["status"] == "done"
        assert len(run["results"]) == 6 and all(r["status"] == "done" and r["messages"][-1]["role"] == "assistant" for r in run["results"])
        _pick(page, "CSV")
        rows = list(csv.DictReader(io.StringIO(_download(page, "Export selected (1)"))))
        assert sorted((r["matrix_row"], r["model"]) for r in rows) == [
            (str(i), m) for i in (1, 2, 3) for m in ("demo-fast", "demo-thinker")
        ]
        log = app_log(playground)
        assert "Traceback" not in log and "WARNING" not in log, log
    finally:
        stop_playground(playground)
