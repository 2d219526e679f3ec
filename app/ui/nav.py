"""The app's pages (``st.navigation``) and switching between them."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
PAGES = {
    "compare": ("compare.py", "Compare", ":material/view_column:"),
    "matrix": ("matrix.py", "Prompt sets", ":material/grid_view:"),
    "history": ("history.py", "History", ":material/history:"),
    "dashboard": ("dashboard.py", "Usage", ":material/monitoring:"),
    "leaderboard": ("leaderboard.py", "Leaderboard", ":material/leaderboard:"),
    "endpoints": ("endpoints.py", "Endpoints & models", ":material/tune:"),
}
_built: dict[str, st.Page] = {}


def build() -> list[st.Page]:
    """One ``st.Page`` per script in ``app/pages/`` (Compare is the home page)."""
    for name, (script, title, icon) in PAGES.items():
        _built[name] = st.Page(PAGES_DIR / script, title=title, icon=icon, url_path=name, default=name == "compare")
    return [_built[name] for name in PAGES]


def go(name: str) -> None:
    """Switch to page ``name`` (a key of ``PAGES``)."""
    page = _built.get(name)
    st.switch_page(page if page is not None else PAGES_DIR / PAGES[name][0])
