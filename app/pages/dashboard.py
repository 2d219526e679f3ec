"""Usage dashboard: tokens, cost, latency and errors from the history."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import streamlit as st

from app import formatting as fmt
from app.bootstrap import AppContext, context
from app.history import dashboard_charts as charts
from app.history import dashboard_data as data
from app.history import usage
from app.history.usage import UsageWindow
from app.ui.common import header

ctx: AppContext = context()
header("Usage", "Tokens, cost and latency over time, by backend, model and endpoint — from your history.")
if ctx.history is None:
    st.error(ctx.history_problem or "History is unavailable.", icon=":material/database:")
    st.stop()

store = ctx.history
version = store.version()


# Cached per history version (a cheap fingerprint, see HistoryStore.version): reruns for widget
# changes and reopening the page reuse the aggregates until the history changes.
@st.cache_data(show_spinner=False, max_entries=64)
def _span(url: str, version: tuple[Any, ...], offset: int) -> tuple[date, date] | None:
    return usage.span(store.engine, offset)


@st.cache_data(show_spinner=False, max_entries=64)
def _models(url: str, version: tuple[Any, ...]) -> list[str]:
    return usage.model_names(store.engine)


@st.cache_data(show_spinner=False, max_entries=16)
def _demo_share(url: str, version: tuple[Any, ...]) -> tuple[int, int]:
    return usage.simulated_calls(store.engine)


@st.cache_data(show_spinner=False, max_entries=64)
def _usage(url: str, version: tuple[Any, ...], window: UsageWindow) -> data.Usage:
    return data.load(store.engine, window)


offset = usage.local_offset_minutes()
span = _span(store.url, version, offset)
if span is None:
    st.info("Nothing to show yet: run a comparison on **Compare** and come back.", icon=":material/monitoring:")
    st.stop()

simulated_calls, all_calls = _demo_share(store.url, version)
include_demo = True
if simulated_calls:
    demo_only = simulated_calls == all_calls
    include_demo = st.toggle(
        "Include demo models (simulated costs)",
        value=demo_only,
        key=f"dashboard_include_demo::{'demo-only' if demo_only else 'mixed'}",  # the default changes once real runs exist
        help="Calls to the built-in demo models cost nothing: their costs are made up. Left out by default once you have real runs.",
    )
    if not include_demo:
        st.caption(f"{simulated_calls:,} demo call(s) left out.")
    else:
        st.caption(
            f":violet-badge[:material/science: simulated] {simulated_calls:,} call(s) to demo models are included: their costs are made up."
        )
    if demo_only and not include_demo:
        st.info("Only demo calls so far: turn on *Include demo models* to see them.", icon=":material/monitoring:")
        st.stop()

first_day, last_day = span
today = date.today()
with st.container(border=True, key="dashboard-filters"):
    c1, c2 = st.columns([2, 3])
    days = c1.date_input(
        "Dates",
        value=(max(first_day, today - timedelta(days=29)), max(last_day, today)),
        key="dashboard_dates",
        format="YYYY-MM-DD",
    )
    models = c2.multiselect("Models", _models(store.url, version), key="dashboard_models", placeholder="All models")
picked = list(days) if isinstance(days, (list, tuple)) else [days]
window = UsageWindow(
    picked[0] if picked else None, picked[-1] if picked else None, tuple(sorted(models)), offset, exclude_simulated=not include_demo
)
numbers = _usage(store.url, version, window)
if numbers.empty:
    st.info("No calls in this range.")
    st.stop()

k = data.kpis(numbers)
with st.container(horizontal=True, gap="small", key="dashboard-kpis"):
    st.metric("Runs", f"{k['runs']:,}", border=True)
    st.metric("Model calls", f"{k['calls']:,}", border=True)
    st.metric("Tokens", fmt.tokens(k["tokens"]), border=True)
    st.metric("Cost (incl. simulated)" if include_demo and simulated_calls else "Cost", fmt.cost(k["cost"]), border=True)
    st.metric("Median TTFT", fmt.seconds(k["median_ttft"]), border=True)
    st.metric("Error rate", "–" if k["error_rate"] is None else f"{k['error_rate']:.0%}", border=True)

daily = data.daily(numbers.groups)
st.subheader("Over time", anchor=False, divider="gray")
left, right = st.columns(2, gap="large")
with left:
    st.markdown("**Tokens per day**")
    st.altair_chart(charts.per_day(daily, "tokens", "Tokens"), width="stretch")
with right:
    st.markdown("**Cost per day**")
    st.altair_chart(
        charts.per_day(daily, "cost_usd", "Cost (USD)", fmt=charts.cost_format(daily.groupby("day")["cost_usd"].sum())), width="stretch"
    )

st.subheader("Breakdown", anchor=False, divider="gray")
label = st.radio("Group by", list(data.DIMENSIONS), horizontal=True, key="dashboard_dimension")
dimension = data.DIMENSIONS[label]
table = data.breakdown(numbers.groups, dimension, numbers.medians[dimension])
left, right = st.columns(2, gap="large")
with left:
    st.markdown(f"**Tokens by {label.lower()}**")
    st.altair_chart(charts.tokens_by(table, dimension, label), width="stretch")
with right:
    st.markdown(f"**Cost by {label.lower()}**")
    st.altair_chart(charts.cost_by(table, dimension, label), width="stretch")
with st.expander("Table", icon=":material/table:"):
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            dimension: st.column_config.TextColumn(label),
            "calls": st.column_config.NumberColumn("Calls"),
            "input_tokens": st.column_config.NumberColumn("Input tokens", format="localized"),
            "output_tokens": st.column_config.NumberColumn("Output tokens", format="localized"),
            "cached_tokens": st.column_config.NumberColumn("Cached tokens", format="localized"),
            "cost_usd": st.column_config.NumberColumn("Cost", format="$%.6f"),
            "median_ttft_s": st.column_config.NumberColumn("Median TTFT", format="%.2f s"),
            "median_total_s": st.column_config.NumberColumn("Median total", format="%.2f s"),
            "errors": st.column_config.NumberColumn("Errors"),
            "error_rate": st.column_config.ProgressColumn("Error rate", min_value=0.0, max_value=1.0, format="percent"),
        },
    )

st.subheader("Latency", anchor=False, divider="gray")
boxes = numbers.boxes
if boxes.empty:
    st.info("No completed calls in this range.")
else:
    st.caption("Completed calls only. Boxes span the middle half of the calls; whiskers reach the fastest and the slowest.")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Time to first token**")
        st.altair_chart(charts.latency(boxes, "time to first token"), width="stretch")
    with right:
        st.markdown("**Total time**")
        st.altair_chart(charts.latency(boxes, "total time"), width="stretch")

st.subheader("Errors", anchor=False, divider="gray")
st.caption("Failed or broken streams (partial answers) count as errors; streams you stopped do not.")
left, right = st.columns(2, gap="large")
with left:
    st.markdown("**Error rate per model**")
    st.altair_chart(charts.error_rate(data.breakdown(numbers.groups, "model"), "model"), width="stretch")
with right:
    st.markdown("**Latest errors**")
    errors = numbers.errors
    if errors.empty:
        st.success("No errors in this range.", icon=":material/check_circle:")
    else:
        st.dataframe(
            errors,
            hide_index=True,
            width="stretch",
            column_config={"created_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm")},
        )
