"""What History shows of judgments: the rating filter, each run's vote and branch, rating widgets."""

from __future__ import annotations

from typing import Any

from app.arena.outcomes import OUTCOME_TIE, OUTCOME_WINNER
from app.history.judgment_models import Vote
from app.history.judgments import RATING_FILTERS, rating_condition, ratings_for, votes_for
from app.history.store import HistoryStore, RunView
from app.ui.common import md_escape
from app.ui.rating import rating_widget


def rating_filter(container: Any) -> Any:
    """A "Rating" select in ``container``; returns the SQL condition for ``HistoryStore.search`` (or None)."""
    kind = container.selectbox("Rating", list(RATING_FILTERS), format_func=RATING_FILTERS.__getitem__, key="history_rating")
    return rating_condition(kind)


def follow_up_counts(store: HistoryStore, run_ids: list[str]) -> dict[str, int]:
    """How many runs follow up on each of ``run_ids`` (two or more: the conversation branched there)."""
    from sqlmodel import col, func, select

    from app.history.models import Run

    if not run_ids:
        return {}
    with store.session() as s:
        rows = s.exec(select(Run.parent_id, func.count()).where(col(Run.parent_id).in_(run_ids)).group_by(Run.parent_id)).all()
    return {parent: int(n) for parent, n in rows if parent}


def vote_text(view: RunView, vote: Vote | None) -> str:
    """The vote on a run in a few words (Markdown)."""
    if vote is None:
        return ""
    if vote.outcome == OUTCOME_WINNER:
        winner = next((r.result.model for r in view.results if r.result.position == vote.winner_position), "?")
        said = f"vote: {md_escape(winner)} best"
    else:
        said = "vote: tie" if vote.outcome == OUTCOME_TIE else "vote: all bad"
    return said + (" (blind)" if vote.blind else "") + (f" · tag {md_escape(vote.tag)}" if vote.tag else "")


def branch_text(view: RunView, follow_ups: int) -> str:
    parts = []
    if view.run.parent_id:
        parts.append(f"follow-up of `{view.run.parent_id[:8]}`" + (" (one model continued)" if len(view.results) == 1 else ""))
    if follow_ups > 1:
        parts.append(f"branches into {follow_ups} follow-ups")
    elif follow_ups == 1:
        parts.append("continued")
    return " · ".join(parts)


class RunJudgments:
    """Votes, follow-up counts and ratings of one page of History, read in three queries."""

    def __init__(self, store: HistoryStore, views: list[RunView]):
        self.store = store
        ids = [v.run.id for v in views]
        self.votes = votes_for(store, ids)
        self.follow_ups = follow_up_counts(store, ids)
        self.ratings = ratings_for(store, [r.result.id for v in views for r in v.results if r.result.id is not None])

    def caption(self, view: RunView) -> str:
        """Branch, vote and ratings of a run, for its History card (Markdown)."""
        parts = [branch_text(view, self.follow_ups.get(view.run.id, 0)), vote_text(view, self.votes.get(view.run.id))]
        for r in view.results:
            rating = self.ratings.get(r.result.id or -1)
            if rating is not None:
                marks = [{1: "👍", -1: "👎"}.get(rating.thumb or 0, ""), "★" * (rating.stars or 0), "✎" if rating.note else ""]
                parts.append(f"{md_escape(r.result.model)} {' '.join(m for m in marks if m)}")
        return " · ".join(p for p in parts if p)

    def rate(self, result_id: int | None) -> None:
        if result_id is not None:
            rating_widget(self.store, result_id, key_prefix="hist-rate", rating=self.ratings.get(result_id), loaded=True)
