"""Leaderboard: your own arena — a Bradley-Terry ranking of the models you voted on, and exports."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from app.arena import charts
from app.arena.export import preference_pairs, ratings_csv, to_jsonl
from app.arena.outcomes import Pair
from app.arena.ranking import MIN_VOTES, Leaderboard, leaderboard
from app.bootstrap import AppContext, context
from app.history.judgments import all_ratings, load_votes, vote_tags
from app.ui.common import header

ctx: AppContext = context()
state = st.session_state
header(
    "Leaderboard",
    "Your private arena: every vote on Compare becomes pairwise wins and losses, ranked with a Bradley-Terry model.",
)
if ctx.history is None:
    st.error(ctx.history_problem or "History is unavailable.", icon=":material/database:")
    st.stop()
store = ctx.history


@st.cache_data(show_spinner=False, max_entries=16)
def _rank(votes: tuple[tuple[Pair, ...], ...]) -> Leaderboard:
    """The fit and its bootstrap, once per set of votes (filters and reruns reuse it)."""
    return leaderboard(votes)


def _window(days: list[date]) -> tuple[datetime | None, datetime | None]:
    """Local calendar days → UTC bounds (end exclusive), as votes are stored in UTC."""
    if not days:
        return None, None
    local = datetime.now().astimezone().tzinfo
    start = datetime.combine(days[0], time.min, tzinfo=local).astimezone(UTC)
    end = (datetime.combine(days[-1], time.min, tzinfo=local) + timedelta(days=1)).astimezone(UTC)
    return start, end


with st.container(border=True, key="leaderboard-filters"):
    c1, c2, c3 = st.columns([2, 3, 1.4], vertical_alignment="bottom")
    days = c1.date_input("Dates", value=[], key="leaderboard_dates", format="YYYY-MM-DD", help="When the votes were cast.")
    tags = c2.multiselect(
        "Tags", vote_tags(store), key="leaderboard_tags", placeholder="All tags", help="The tag typed next to the vote buttons."
    )
    blind_only = c3.toggle("Blind votes only", key="leaderboard_blind", help="Leave out votes cast while the names were visible.")
start, end = _window(list(days) if isinstance(days, (list, tuple)) else [days])
loaded = load_votes(store, start, end, tags)
records = [r for r in loaded.records if r.vote.blind or not blind_only]
if loaded.skipped:
    with st.expander(f"Skipped {len(loaded.skipped)} vote row(s) that could not be read", icon=":material/warning:"):
        for line in loaded.skipped:
            st.text(line)

board = _rank(tuple(tuple(r.pairs) for r in records))
with st.container(horizontal=True, gap="small", key="leaderboard-kpis"):
    st.metric("Votes", f"{board.votes:,}", border=True)
    st.metric("Models", f"{len(board.models):,}", border=True)
    st.metric("Blind votes", f"{sum(r.vote.blind for r in records):,}", border=True)

if not records:
    st.info("No votes yet: turn on **Blind mode** on **Compare**, run a prompt and pick the better answer.", icon=":material/how_to_vote:")
elif not board.meaningful:
    st.info(
        f"{board.votes} vote{'s' if board.votes != 1 else ''} so far — the ranking is not meaningful yet. "
        f"It needs at least {MIN_VOTES} votes between two or more models; until then a score would be noise.",
        icon=":material/hourglass_top:",
    )
else:
    frame = charts.standings_frame(board)
    st.subheader("Ranking", anchor=False, divider="gray")
    st.dataframe(
        frame.drop(columns=["low", "high"]),
        hide_index=True,
        width="stretch",
        column_config={
            "Win rate": st.column_config.ProgressColumn("Win rate", format="percent", min_value=0, max_value=1),
            "Score": st.column_config.NumberColumn("Score", help="Bradley-Terry strength on the Elo scale: +400 ≈ 10:1 odds of winning."),
            "95% CI": st.column_config.TextColumn(
                "95% CI", help="Bootstrap interval over votes: overlapping intervals mean the order is not settled."
            ),
        },
        key="leaderboard-table",
    )
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Scores with 95% intervals**")
        st.altair_chart(charts.scores_chart(frame), width="stretch")
    with right:
        st.markdown("**Pairwise win rate** (row against column)")
        st.altair_chart(charts.pairwise_heatmap(board), width="stretch")

st.subheader("Export", anchor=False, divider="gray")
stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
with st.container(horizontal=True, gap="small", key="leaderboard-exports"):
    st.download_button(
        f"Preference pairs (JSONL, {len(records)} votes)",
        data=lambda: to_jsonl(preference_pairs(store, records), ctx.settings.scrub),
        file_name=f"vv-llm-preferences-{stamp}.jsonl",
        mime="application/jsonl",
        icon=":material/download:",
        disabled=not records,
        on_click="ignore",
        key="export-preferences",
        help="One line per (winner, other answer): prompt, messages, chosen, rejected, model names and vote time.",
    )
    st.download_button(
        "All ratings (CSV)",
        data=lambda: ratings_csv(all_ratings(store), ctx.settings.scrub),
        file_name=f"vv-llm-ratings-{stamp}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="export-ratings",
    )
st.caption("Keys and other secrets are scrubbed from both exports; ties and “all bad” votes give no preference pair.")
