"""The vv-llm playground: ``streamlit run streamlit_app.py`` (or ``bash scripts/playground``).

At the repository root because Streamlit puts the entrypoint's folder on ``sys.path``: so ``app`` imports
with no path editing. The pages are ``app/pages/*.py``, listed in ``app/ui/nav.py``.
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
