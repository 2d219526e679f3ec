"""Browser fixtures: Debian's Chromium through Playwright (no browser download)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: Playwright's sync API keeps an event loop running in this thread while it is
    # open, which would stop later asyncio tests in the same session from starting theirs.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_factory(browser: Any) -> Iterator[Any]:
    contexts = []

    def new_page() -> Any:
        context = browser.new_context(viewport={"width": 1440, "height": 1600}, accept_downloads=True)
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def _patient_expect() -> None:
    """``expect`` waits up to 20 s (not 5): a first page load on a busy 2-core machine can take longer."""
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
