"""The vv-llm playground: ``streamlit run app/main.py`` (or ``bash scripts/playground``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` only puts app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.bootstrap import context  # noqa: E402
from app.ui import browser, nav  # noqa: E402

st.set_page_config(page_title="vv-llm playground", page_icon=":material/view_column:", layout="wide")
browser.install()  # keyboard shortcuts, copy buttons (app/ui/browser.py)
context()  # load settings (and the demo backend) before any page runs
page = st.navigation(nav.build(), position="top")
page.run()
