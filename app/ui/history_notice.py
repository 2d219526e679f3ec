"""What Compare says when runs cannot be saved: before a run (the history database is broken or
unreachable) and after it (this run is not in History)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.bootstrap import AppContext


def before_run(ctx: AppContext) -> None:
    if ctx.history is None:
        problem = ctx.history_problem or "the history database is unavailable"
        st.warning(f"Runs will not be saved: {problem}. Fix or move the database, then reload.", icon=":material/database:")


def after_run(ctx: AppContext, run: Any) -> None:
    if run.history_error:
        st.warning(f"This run was not saved: {run.history_error}", icon=":material/database:")
    elif ctx.history is None and run.requests and any(r.messages for r in run.requests):
        st.warning("This run was not saved to History: the history database is unavailable.", icon=":material/database:")
