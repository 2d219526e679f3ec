"""Leaderboard tables and Altair charts: scores with their 95% intervals, pairwise win rates."""

from __future__ import annotations

import altair as alt
import pandas as pd

from app.arena.ranking import Leaderboard
from app.history.dashboard_charts import PALETTE


def standings_frame(board: Leaderboard) -> pd.DataFrame:
    rows = [
        {
            "Rank": rank,
            "Model": s.model,
            "Score": round(s.score),
            "95% CI": f"{round(s.low)} – {round(s.high)}",
            "Votes": s.votes,
            "Win rate": s.win_rate,
            "Wins": s.wins,
            "Losses": s.losses,
            "Ties": s.ties,
            "low": s.low,
            "high": s.high,
        }
        for rank, s in enumerate(board.standings, 1)
    ]
    return pd.DataFrame(rows)


def scores_chart(frame: pd.DataFrame) -> alt.Chart:
    """Each model's score as a dot with its 95% interval as a bar (best at the top)."""
    order = list(frame["Model"])
    base = alt.Chart(frame, height=max(120, 40 * len(order))).encode(y=alt.Y("Model:N", sort=order, title=None))
    interval = base.mark_rule(strokeWidth=3, color=PALETTE[1]).encode(
        x=alt.X("low:Q", title="Score (Bradley-Terry, Elo scale) with 95% interval", scale=alt.Scale(zero=False)),
        x2="high:Q",
    )
    dots = base.mark_circle(size=120, color=PALETTE[0]).encode(
        x="Score:Q",
        tooltip=["Model:N", "Score:Q", "95% CI:N", "Votes:Q", alt.Tooltip("Win rate:Q", format=".0%")],
    )
    return interval + dots


def pairwise_heatmap(board: Leaderboard) -> alt.Chart:
    """Row model's win rate against the column model (ties count half), with the number of games."""
    order = [s.model for s in board.standings] or board.models
    frame = pd.DataFrame([{"Model": c.model, "Opponent": c.opponent, "Win rate": c.win_rate, "Games": c.games} for c in board.pairwise])
    base = alt.Chart(frame, height=max(160, 44 * len(order))).encode(
        x=alt.X("Opponent:N", sort=order, title="against", axis=alt.Axis(labelAngle=-30, orient="top")),
        y=alt.Y("Model:N", sort=order, title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("Win rate:Q", scale=alt.Scale(domain=[0, 1], scheme="redblue"), legend=alt.Legend(format=".0%")),
        tooltip=["Model:N", "Opponent:N", alt.Tooltip("Win rate:Q", format=".0%"), "Games:Q"],
    )
    labels = base.mark_text(fontSize=13).encode(text=alt.Text("Win rate:Q", format=".0%"))
    return cells + labels
