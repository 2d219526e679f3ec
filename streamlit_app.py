"""The vv-llm playground's entrypoint: ``streamlit run streamlit_app.py`` (or ``bash scripts/playground``).

It lives at the repository root so that Streamlit, which puts the entrypoint's folder on ``sys.path``,
makes the ``app`` package importable without any path editing. The pages are ``app/pages/*.py``.
"""

from __future__ import annotations

import streamlit as st

from app.bootstrap import context
from app.ui import browser, nav

st.set_page_config(page_title="vv-llm playground", page_icon=":material/view_column:", layout="wide")
browser.install()  # keyboard shortcuts, copy buttons (app/ui/browser.py)
context()  # load settings (and the demo backend) before any page runs
page = st.navigation(nav.build(), position="top")
page.run()
