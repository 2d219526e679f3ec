"""Usage dashboard: tokens, cost, latency and errors from the history."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from app import charts
from app import dashboard_data as data
from app import formatting as fmt
from app.bootstrap import AppContext, context
from app.ui.common import header

ctx: AppContext = context()
header("Usage", "Tokens, cost and latency over time, by backend, model and endpoint — from your history.")
if ctx.history is None:
    st.error(ctx.history_problem or "History is unavailable.", icon=":material/database:")
    st.stop()

frame = data.usage_frame(ctx.history.usage_rows())
if frame.empty:
    st.info("Nothing to show yet: run a comparison on **Compare** and come back.", icon=":material/monitoring:")
    st.stop()

simulated_calls = int(frame["simulated"].sum())
if simulated_calls:
    demo_only = bool(frame["simulated"].all())
    include_demo = st.toggle(
        "Include demo models (simulated costs)",
        value=demo_only,
        key=f"dashboard_include_demo::{'demo-only' if demo_only else 'mixed'}",  # the default changes once real runs exist
        help="Calls to the built-in demo models cost nothing: their costs are made up. Left out by default once you have real runs.",
    )
    if not include_demo:
        frame = data.real_only(frame)
        st.caption(f"{simulated_calls:,} demo call(s) left out.")
    else:
        st.caption(
            f":violet-badge[:material/science: simulated] {simulated_calls:,} call(s) to demo models are included: their costs are made up."
        )
    if frame.empty:
        st.info("Only demo calls so far: turn on *Include demo models* to see them.", icon=":material/monitoring:")
        st.stop()

first_day, last_day = frame["day"].min().date(), frame["day"].max().date()
today = date.today()
with st.container(border=True, key="dashboard-filters"):
    c1, c2 = st.columns([2, 3])
    days = c1.date_input(
        "Dates",
        value=(max(first_day, today - timedelta(days=29)), max(last_day, today)),
        key="dashboard_dates",
        format="YYYY-MM-DD",
    )
    models = c2.multiselect("Models", sorted(frame["model"].unique()), key="dashboard_models", placeholder="All models")
picked = list(days) if isinstance(days, (list, tuple)) else [days]
start = picked[0] if picked else None
end = picked[-1] if picked else None
df = data.filtered(frame, start, end, models)
if df.empty:
    st.info("No calls in this range.")
    st.stop()

k = data.kpis(df)
with st.container(horizontal=True, gap="small", key="dashboard-kpis"):
    st.metric("Runs", f"{k['runs']:,}", border=True)
    st.metric("Model calls", f"{k['calls']:,}", border=True)
    st.metric("Tokens", fmt.tokens(k["tokens"]), border=True)
    st.metric("Cost (incl. simulated)" if bool(df["simulated"].any()) else "Cost", fmt.cost(k["cost"]), border=True)
    st.metric("Median TTFT", fmt.seconds(k["median_ttft"]), border=True)
    st.metric("Error rate", "–" if k["error_rate"] is None else f"{k['error_rate']:.0%}", border=True)

daily = data.daily(df)
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
table = data.breakdown(df, dimension)
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
long = data.latency_long(df)
if long.empty:
    st.info("No completed calls in this range.")
else:
    st.caption("Completed calls only. Boxes span the middle half of the calls; whiskers reach the fastest and the slowest.")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Time to first token**")
        st.altair_chart(charts.latency(long, "time to first token"), width="stretch")
    with right:
        st.markdown("**Total time**")
        st.altair_chart(charts.latency(long, "total time"), width="stretch")

st.subheader("Errors", anchor=False, divider="gray")
st.caption("Failed or broken streams (partial answers) count as errors; streams you stopped do not.")
left, right = st.columns(2, gap="large")
with left:
    st.markdown("**Error rate per model**")
    st.altair_chart(charts.error_rate(data.breakdown(df, "model"), "model"), width="stretch")
with right:
    st.markdown("**Latest errors**")
    errors = data.recent_errors(df)
    if errors.empty:
        st.success("No errors in this range.", icon=":material/check_circle:")
    else:
        st.dataframe(
            errors,
            hide_index=True,
            width="stretch",
            column_config={"created_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm")},
        )
