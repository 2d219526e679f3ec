"""The app's pages (``st.navigation``) and switching between them."""

from __future__ import annotations

import streamlit as st

PAGES = {
    "compare": ("../pages/compare.py", "Compare", ":material/view_column:"),
    "matrix": ("../pages/matrix.py", "Prompt sets", ":material/grid_view:"),
    "history": ("../pages/history.py", "History", ":material/history:"),
    "dashboard": ("../pages/dashboard.py", "Usage", ":material/monitoring:"),
    "leaderboard": ("../pages/leaderboard.py", "Leaderboard", ":material/leaderboard:"),
    "endpoints": ("../pages/endpoints.py", "Endpoints & models", ":material/tune:"),
}
_built: dict[str, st.Page] = {}


def build() -> list[st.Page]:
    """One ``st.Page`` per script in ``pages/`` (Compare is the home page)."""
    for name, (path, title, icon) in PAGES.items():
        _built[name] = st.Page(path, title=title, icon=icon, url_path=name, default=name == "compare")
    return [_built[name] for name in PAGES]


def go(name: str) -> None:
    """Switch to page ``name`` (a key of ``PAGES``)."""
    page = _built.get(name)
    st.switch_page(page if page is not None else PAGES[name][0])
