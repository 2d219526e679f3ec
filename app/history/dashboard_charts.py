"""Altair charts for the usage dashboard (one consistent look: tooltips everywhere, one palette)."""

from __future__ import annotations

import altair as alt
import pandas as pd

PALETTE = ["#4F46E5", "#0EA5E9", "#10B981", "#F59E0B", "#EF4444", "#8B5CF6", "#EC4899", "#14B8A6", "#64748B", "#A3E635"]
HEIGHT = 280


def _color(field: str, title: str) -> alt.Color:
    return alt.Color(f"{field}:N", title=title, scale=alt.Scale(range=PALETTE), legend=alt.Legend(orient="bottom", columns=4))


def cost_format(values: pd.Series) -> str:
    """A d3 format for a cost axis whose ticks read apart: 3 significant digits below $1
    (``$0.00015``, ``$0.0002``, ``$0.00025``), cents above."""
    top = float(values.max()) if len(values) else 0.0
    return "$,.2f" if top >= 1 else "$.3~g"


def per_day(daily: pd.DataFrame, value: str, title: str, fmt: str = ",.0f") -> alt.Chart:
    """Stacked bars: ``value`` per day, one colour per model."""
    return (
        alt.Chart(daily, height=HEIGHT)
        .mark_bar(cornerRadiusTopLeft=3, cornerRadiusTopRight=3)
        .encode(
            x=alt.X("yearmonthdate(day):O", title=None, axis=alt.Axis(labelAngle=-30, format="%b %d")),
            y=alt.Y(f"sum({value}):Q", title=title, axis=alt.Axis(format=fmt)),
            color=_color("model", "Model"),
            tooltip=[
                alt.Tooltip("yearmonthdate(day):T", title="Day"),
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip(f"sum({value}):Q", title=title, format=fmt),
                alt.Tooltip("sum(calls):Q", title="Calls"),
            ],
        )
    )


def tokens_by(breakdown: pd.DataFrame, dimension: str, label: str) -> alt.Chart:
    """Horizontal stacked bars: input (incl. cached) and output tokens per group."""
    long = breakdown.melt(id_vars=[dimension], value_vars=["input_tokens", "output_tokens"], var_name="kind", value_name="tokens")
    long["kind"] = long["kind"].map({"input_tokens": "input", "output_tokens": "output"})
    return (
        alt.Chart(long, height=max(120, 36 * breakdown.shape[0]))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y(f"{dimension}:N", title=None, sort="-x"),
            x=alt.X("sum(tokens):Q", title="Tokens", axis=alt.Axis(format="~s")),
            color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["input", "output"], range=[PALETTE[1], PALETTE[0]])),
            tooltip=[alt.Tooltip(f"{dimension}:N", title=label), "kind:N", alt.Tooltip("sum(tokens):Q", title="Tokens", format=",")],
        )
    )


def cost_by(breakdown: pd.DataFrame, dimension: str, label: str) -> alt.Chart:
    return (
        alt.Chart(breakdown, height=max(120, 36 * breakdown.shape[0]))
        .mark_bar(cornerRadiusEnd=3, color=PALETTE[2])
        .encode(
            y=alt.Y(f"{dimension}:N", title=None, sort="-x"),
            x=alt.X("cost_usd:Q", title="Cost (USD)", axis=alt.Axis(format=cost_format(breakdown["cost_usd"]))),
            tooltip=[alt.Tooltip(f"{dimension}:N", title=label), alt.Tooltip("cost_usd:Q", title="Cost", format="$,.6f"), "calls:Q"],
        )
    )


def latency(boxes: pd.DataFrame, metric: str) -> alt.LayerChart:
    """Box plot of one latency metric (``time to first token`` or ``total time``) per model, from
    its five numbers (``min``, ``q1``, ``median``, ``q3``, ``max``: whiskers reach min and max)."""
    data = boxes[boxes["metric"] == metric]
    base = alt.Chart(data, height=HEIGHT).encode(
        x=alt.X("model:N", title=None, axis=alt.Axis(labelAngle=-20)),
        tooltip=[
            alt.Tooltip("model:N", title="Model"),
            alt.Tooltip("calls:Q", title="Calls"),
            *(alt.Tooltip(f"{name}:Q", title=name, format=".2f") for name in ("min", "q1", "median", "q3", "max")),
        ],
    )
    whiskers = base.mark_rule().encode(y=alt.Y("min:Q", title="Seconds"), y2="max:Q")
    boxes_ = base.mark_bar(size=22).encode(y="q1:Q", y2="q3:Q", color=alt.Color("model:N", scale=alt.Scale(range=PALETTE), legend=None))
    medians = base.mark_tick(color="white", size=22).encode(y="median:Q")
    # The median as a dot too: a model with one call (or identical times) has a flat box, which
    # alone would draw as a 1-pixel line.
    dots = base.mark_circle(size=42, opacity=0.85, stroke="white", strokeWidth=1).encode(
        y="median:Q", color=alt.Color("model:N", scale=alt.Scale(range=PALETTE), legend=None)
    )
    return whiskers + boxes_ + medians + dots


def error_rate(breakdown: pd.DataFrame, dimension: str) -> alt.Chart:
    return (
        alt.Chart(breakdown, height=max(120, 36 * breakdown.shape[0]))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y(f"{dimension}:N", title=None, sort="-x"),
            x=alt.X("error_rate:Q", title="Error rate", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.condition(alt.datum.error_rate > 0, alt.value(PALETTE[4]), alt.value(PALETTE[2])),
            tooltip=[
                alt.Tooltip(f"{dimension}:N"),
                alt.Tooltip("error_rate:Q", title="Error rate", format=".0%"),
                alt.Tooltip("errors:Q", title="Errors"),
                alt.Tooltip("calls:Q", title="Calls"),
            ],
        )
    )
