"""History: every run, searchable; reopen into Compare, export (Markdown / JSON / CSV), delete."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import streamlit as st

from app import formatting as fmt
from app.bootstrap import AppContext, context
from app.compare.conversation import from_history
from app.history.export import FORMATS
from app.history.matrix_store import matrix_store
from app.history.store import HistoryStore, RunView
from app.ui import matrix as matrix_ui
from app.ui import nav
from app.ui import results as results_ui
from app.ui.common import header, md_escape
from app.ui.judgments_history import RunJudgments, rating_filter

PAGE_SIZE = 20
COUNT_CAP = 10_000
"""Matching runs are counted up to this many ("10,000+ runs match"): a filter change on a long
history costs what the page shows, not a count of everything that matches."""

ctx: AppContext = context()
state = st.session_state
header("History", "Every comparison is saved while it runs. Search it, reopen a run in Compare, export or delete.")
if ctx.history is None:
    st.error(ctx.history_problem or "History is unavailable.", icon=":material/database:")
    st.stop()
store: HistoryStore = ctx.history
matrix_store(store)  # marks matrix runs a dead process left running as interrupted
if state.pop("goto_compare", False):
    nav.go("compare")  # after "Open in Compare" (switching pages is not allowed inside a callback)
if state.pop("goto_matrix", False):
    nav.go("matrix")


def _day_bounds(days: tuple[date, ...] | list[date]) -> tuple[datetime | None, datetime | None]:
    """Local calendar days → aware datetimes (end exclusive)."""
    if not days:
        return None, None
    local = datetime.now().astimezone().tzinfo
    start = datetime.combine(days[0], time.min, tzinfo=local)
    end = datetime.combine(days[-1], time.min, tzinfo=local) + timedelta(days=1)
    return start, end


def _open(run_id: str) -> None:
    state["restore_run"] = run_id
    state["goto_compare"] = True


def _open_matrix(run_id: str) -> None:
    state["open_matrix"] = run_id
    state["goto_matrix"] = True


def _delete(run_ids: list[str]) -> None:
    deleted = store.delete(run_ids)
    for run_id in run_ids:
        state.pop(f"select-{run_id}", None)
    state["history_notice"] = f"Deleted {deleted} run{'s' if deleted != 1 else ''}."


# Cached per history version (a cheap fingerprint, see HistoryStore.version): a rerun for a
# checkbox or an expander reads nothing again until the history changes.
version = store.version()


@st.cache_data(show_spinner=False, max_entries=16)
def _model_names(url: str, version: tuple[Any, ...]) -> list[str]:
    return store.model_names()


@st.cache_data(show_spinner=False, max_entries=64)
def _count(url: str, version: tuple[Any, ...], text: str, models: tuple[str, ...], start: datetime | None, end: datetime | None) -> int:
    return store.count(text, models, start, end, at_most=COUNT_CAP + 1)


@st.cache_data(show_spinner=False, max_entries=64)
def _page(
    url: str, version: tuple[Any, ...], text: str, models: tuple[str, ...], start: datetime | None, end: datetime | None, limit: int
) -> list[RunView]:
    return store.search(text, models, start, end, limit=limit)


def _matching(
    text: str, models: list[str], start: datetime | None, end: datetime | None, rated: Any, limit: int
) -> tuple[int, list[RunView]]:
    """How many runs match and the page shown; cached unless a rating filter is on (ratings change
    without changing the history version)."""
    if rated is not None:
        return (
            store.count(text, models, start, end, where=rated, at_most=COUNT_CAP + 1),
            store.search(text, models, start, end, limit=limit, where=rated),
        )
    return _count(store.url, version, text, tuple(models), start, end), _page(store.url, version, text, tuple(models), start, end, limit)


# -- filters -------------------------------------------------------------------------------
with st.container(border=True, key="history-filters"):
    c1, c2, c3, c4 = st.columns([3, 3, 2, 1.6])
    text = c1.text_input("Search", key="history_text", placeholder="Words in the prompt or an answer", icon=":material/search:")
    models = c2.multiselect("Models", _model_names(store.url, version), key="history_models", placeholder="All models")
    days = c3.date_input("Dates", value=[], key="history_dates", format="YYYY-MM-DD")
    rated = rating_filter(c4)
start, end = _day_bounds(list(days) if isinstance(days, (list, tuple)) else [days])
limit = state.get("history_limit", PAGE_SIZE)
total, runs = _matching(text, models, start, end, rated, limit)
matching = f"{COUNT_CAP:,}+" if total > COUNT_CAP else f"{total:,}"
judged = RunJudgments(store, runs)

if state.get("history_notice"):
    st.success(state.pop("history_notice"), icon=":material/check:")

# -- export / bulk actions -----------------------------------------------------------------
selected = [v.run.id for v in runs if state.get(f"select-{v.run.id}")]
with st.container(horizontal=True, gap="small", vertical_alignment="bottom", key="history-actions"):
    chosen = st.radio("Export format", list(FORMATS), horizontal=True, key="export_format")
    export = FORMATS[chosen]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    st.download_button(
        f"Export selected ({len(selected)})",
        data=lambda: export.render(store.get_many(selected)),
        file_name=f"vv-llm-runs-{stamp}.{export.extension}",
        mime=export.mime,
        icon=":material/download:",
        disabled=not selected,
        on_click="ignore",
        key="export-selected",
    )
    st.download_button(
        f"Export all {matching} matching",
        data=lambda: export.render(store.search(text, models, start, end, limit=None, where=rated)),
        file_name=f"vv-llm-history-{stamp}.{export.extension}",
        mime=export.mime,
        icon=":material/download:",
        disabled=total == 0,
        on_click="ignore",
        key="export-all",
    )
    with st.popover(f"Delete selected ({len(selected)})", icon=":material/delete:", disabled=not selected):
        st.write(f"Delete {len(selected)} run(s) and everything stored with them?")
        st.button("Yes, delete", type="primary", on_click=_delete, args=(selected,), key="delete-selected")

st.caption(f"{matching} run{'s' if total != 1 else ''} match · showing {len(runs)}")
if not runs:
    st.info(
        "No runs yet — results of **Compare** show up here as they stream."
        if not (text or models or days or rated is not None)
        else "No run matches."
    )

# -- the runs ------------------------------------------------------------------------------
for view in runs:
    run = view.run
    with st.container(border=True, key=f"run-{run.id}"):
        top = st.columns([6, 1.4, 1.2], vertical_alignment="center")
        top[0].checkbox(f"**{md_escape(run.title or '(no prompt)')}**", key=f"select-{run.id}")
        if view.matrix is not None:
            top[1].button("Open matrix", icon=":material/grid_view:", key=f"open-{run.id}", on_click=_open_matrix, args=(run.id,))
        else:
            top[1].button("Open in Compare", icon=":material/open_in_new:", key=f"open-{run.id}", on_click=_open, args=(run.id,))
        with top[2].popover("Delete", icon=":material/delete:"):
            st.write("Delete this run?")
            st.button("Yes, delete", type="primary", key=f"delete-{run.id}", on_click=_delete, args=([run.id],))
        with st.container(horizontal=True, gap="small", vertical_alignment="center"):
            if view.matrix is not None:
                matrix_ui.history_badges(view)
            for r in view.results if view.matrix is None else []:
                label, color, icon = results_ui.status_look(r.result.status)
                st.badge(r.result.model, color=color, icon=icon, help=f"{r.result.backend} · {label}")
            judgments = judged.caption(view)
            st.caption(
                f"{fmt.local_time(run.created_at)} · cost {fmt.cost(view.total_cost)}".replace("$", r"\$")
                + (f" · {judgments}" if judgments else "")
            )
        with st.expander("Details", icon=":material/visibility:"):
            if view.matrix is not None:
                matrix_ui.history_details(view)
                continue
            if run.system_prompt:
                st.markdown("**System prompt**")
                st.text(run.system_prompt)
            st.markdown("**Prompt**" + (f" (+{run.image_count} image(s))" if run.image_count else ""))
            st.text(run.user_prompt)
            conversation = from_history(view)[0]
            columns = st.columns(max(1, len(view.results)), gap="small")
            for i, (column, column_state) in enumerate(
                zip(columns, conversation.current.run.states if conversation.current else [], strict=False)
            ):
                with column:
                    results_ui.render_column(column_state, index=i, earlier=conversation.base[i], key_prefix=f"hist-{run.id}")
                    judged.rate(view.results[i].result.id)

if total > len(runs):
    st.button("Show more", on_click=lambda: state.__setitem__("history_limit", limit + PAGE_SIZE), key="history-more")
