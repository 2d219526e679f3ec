"""Ratings and votes: save, replace, read back; the pairwise data the leaderboard ranks.

A rating belongs to one answer (``run_results`` row), a vote to one comparison (``runs`` row):
rating or voting again edits the one row, and deleting a run deletes both (``HistoryStore.delete``).
Reading votes never fails on a bad row: it is skipped and reported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from app.arena.outcomes import OUTCOME_WINNER, OUTCOMES, Pair, vote_pairs
from app.history.judgment_models import Rating, Vote
from app.history.models import Run, RunResult, utcnow
from app.history.store import HistoryStore

NOTE_MAX = 500
TAG_MAX = 100
RATING_FILTERS = {
    "any": "Any rating",
    "rated": "Rated",
    "unrated": "Not rated",
    "up": "Thumbs up",
    "down": "Thumbs down",
    "good": "4–5 stars",
    "bad": "1–2 stars",
    "noted": "With a note",
}


# -- ratings -------------------------------------------------------------------------------
def result_ids(store: HistoryStore, run_id: str) -> dict[int, int]:
    """``position → run_results.id`` of a run's answers."""
    with store.session() as s:
        rows = s.exec(select(RunResult.position, RunResult.id).where(RunResult.run_id == run_id)).all()
    return {position: rid for position, rid in rows if rid is not None}


def save_rating(
    store: HistoryStore, result_id: int, *, thumb: int | None = None, stars: int | None = None, note: str | None = None
) -> Rating | None:
    """Set an answer's rating (replacing the previous one); clearing every part deletes it.

    Raises ``ValueError`` for a thumb other than ±1, stars outside 1–5 or an unknown answer.
    """
    if thumb not in (None, 1, -1):
        raise ValueError(f"thumb must be 1 (up) or -1 (down), got {thumb!r}")
    if stars is not None and not 1 <= stars <= 5:
        raise ValueError(f"stars must be 1 to 5, got {stars!r}")
    note = (store.scrub((note or "").strip()) or "")[:NOTE_MAX]
    with store.session() as s:
        result = s.get(RunResult, result_id)
        if result is None:
            raise ValueError(f"answer {result_id} is not in the history (deleted?)")
        rating = s.exec(select(Rating).where(Rating.result_id == result_id)).first()
        if thumb is None and stars is None and not note:
            if rating is not None:
                s.delete(rating)
                s.commit()
            return None
        rating = rating or Rating(result_id=result_id, run_id=result.run_id)
        rating.thumb, rating.stars, rating.note, rating.updated_at = thumb, stars, note, utcnow()
        s.add(rating)
        s.commit()
        s.refresh(rating)
        return rating


def ratings_for(store: HistoryStore, ids: Sequence[int]) -> dict[int, Rating]:
    if not ids:
        return {}
    with store.session() as s:
        rows = s.exec(select(Rating).where(col(Rating.result_id).in_(list(ids)))).all()
    return {r.result_id: r for r in rows}


def rating_condition(kind: str) -> Any:
    """A ``runs`` filter: runs with at least one answer rated as ``kind`` (a key of ``RATING_FILTERS``)."""
    conditions = {
        "rated": None,
        "up": Rating.thumb == 1,
        "down": Rating.thumb == -1,
        "good": col(Rating.stars) >= 4,
        "bad": col(Rating.stars) <= 2,
        "noted": Rating.note != "",
    }
    if kind == "any" or kind not in {*conditions, "unrated"}:
        return None
    rated = select(Rating.run_id)
    if kind == "unrated":
        return col(Run.id).not_in(rated)
    condition = conditions[kind]
    return col(Run.id).in_(rated if condition is None else rated.where(condition))


@dataclass(frozen=True)
class RatingRow:
    rating: Rating
    result: RunResult
    run: Run


def all_ratings(store: HistoryStore, start: datetime | None = None, end: datetime | None = None) -> list[RatingRow]:
    """Every rating with its answer and run, newest first."""
    query = (
        select(Rating, RunResult, Run)
        .join(RunResult, col(RunResult.id) == col(Rating.result_id))
        .join(Run, col(Run.id) == col(Rating.run_id))
        .order_by(col(Rating.updated_at).desc())
    )
    if start is not None:
        query = query.where(Rating.updated_at >= start)
    if end is not None:
        query = query.where(Rating.updated_at < end)
    with store.session() as s:
        return [RatingRow(*row) for row in s.exec(query).all()]


# -- votes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seat:
    label: str
    """How the column was shown (``Model A`` in blind mode)."""
    position: int
    """The column (``run_results.position``)."""
    result_id: int | None
    backend: str
    model: str


def record_vote(
    store: HistoryStore, run_id: str, *, outcome: str, winner_position: int | None, seats: Sequence[Seat], blind: bool, tag: str = ""
) -> Vote:
    """Store the vote on a comparison, replacing any earlier vote on it (no double counting)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r} (expected one of {', '.join(OUTCOMES)})")
    if outcome == OUTCOME_WINNER and winner_position not in {seat.position for seat in seats}:
        raise ValueError(f"the winner (column {winner_position}) is not one of the compared columns")
    seating = json.dumps([seat.__dict__ for seat in seats], ensure_ascii=False)
    with store.session() as s:
        if s.get(Run, run_id) is None:
            raise ValueError(f"run {run_id} is not in the history (deleted?)")
        vote = s.exec(select(Vote).where(Vote.run_id == run_id)).first() or Vote(run_id=run_id)
        vote.outcome = outcome
        vote.winner_position = winner_position if outcome == OUTCOME_WINNER else None
        vote.blind = blind
        vote.tag = (store.scrub(tag.strip()) or "")[:TAG_MAX]
        vote.seating = seating
        vote.created_at = utcnow()
        s.add(vote)
        s.commit()
        s.refresh(vote)
        return vote


def vote_for(store: HistoryStore, run_id: str) -> Vote | None:
    with store.session() as s:
        return s.exec(select(Vote).where(Vote.run_id == run_id)).first()


def votes_for(store: HistoryStore, run_ids: Sequence[str]) -> dict[str, Vote]:
    if not run_ids:
        return {}
    with store.session() as s:
        return {v.run_id: v for v in s.exec(select(Vote).where(col(Vote.run_id).in_(list(run_ids)))).all()}


def vote_tags(store: HistoryStore) -> list[str]:
    with store.session() as s:
        return sorted(t for t in s.exec(select(Vote.tag).distinct()).all() if t)


@dataclass(frozen=True)
class VoteRecord:
    """A readable vote: its row, where each model sat, and the pairwise outcomes it implies."""

    vote: Vote
    seats: list[Seat]
    pairs: list[Pair]

    def seat_at(self, position: int | None) -> Seat | None:
        return next((seat for seat in self.seats if seat.position == position), None)


@dataclass
class VoteLoad:
    records: list[VoteRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One line per vote row that could not be read, saying why."""


def _seats(raw: str) -> list[Seat]:
    data = json.loads(raw)
    if not isinstance(data, list) or len(data) < 2:
        raise ValueError("its seating lists fewer than two models")
    seats = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("model"), str) or not item["model"]:
            raise ValueError("a seat has no model name")
        if not isinstance(item.get("position"), int):
            raise ValueError("a seat has no column position")
        result_id = item.get("result_id")
        seats.append(
            Seat(
                label=str(item.get("label") or ""),
                position=item["position"],
                result_id=result_id if isinstance(result_id, int) else None,
                backend=str(item.get("backend") or ""),
                model=item["model"],
            )
        )
    return seats


def read_vote(vote: Vote) -> VoteRecord:
    """Parse a stored vote (raises ``ValueError`` saying what is wrong with it)."""
    try:
        seats = _seats(vote.seating)
    except json.JSONDecodeError:
        raise ValueError("its seating is not valid JSON")
    by_position = sorted(seats, key=lambda seat: seat.position)
    positions = [seat.position for seat in by_position]
    if len(set(positions)) != len(positions):
        raise ValueError("two models sat in the same column")
    winner = positions.index(vote.winner_position) if vote.winner_position in positions else None
    if vote.outcome == OUTCOME_WINNER and winner is None:
        raise ValueError(f"its winner (column {vote.winner_position}) sat nowhere")
    pairs = vote_pairs([seat.model for seat in by_position], vote.outcome, winner)
    return VoteRecord(vote, seats, pairs)


def load_votes(store: HistoryStore, start: datetime | None = None, end: datetime | None = None, tags: Sequence[str] = ()) -> VoteLoad:
    """Every readable vote in the window (aware datetimes, end exclusive) and tags; unreadable ones are listed in ``skipped``."""
    conditions = []
    if start is not None:
        conditions.append(col(Vote.created_at) >= start)
    if end is not None:
        conditions.append(col(Vote.created_at) < end)
    if tags:
        conditions.append(col(Vote.tag).in_(list(tags)))
    query = select(Vote).where(*conditions).order_by(col(Vote.created_at))
    load = VoteLoad()
    with store.session() as s:
        try:
            votes = list(s.exec(query).all())
        except (ValueError, TypeError):  # a row whose columns cannot even be loaded: read one by one
            s.rollback()
            votes = []
            for vote_id in s.exec(select(Vote.id).where(*conditions).order_by(col(Vote.created_at))).all():
                try:
                    vote = s.get(Vote, vote_id)
                except (ValueError, TypeError) as exc:
                    load.skipped.append(f"vote {vote_id}: unreadable row ({type(exc).__name__})")
                    continue
                if vote is not None:
                    votes.append(vote)
    for vote in votes:
        try:
            load.records.append(read_vote(vote))
        except (ValueError, TypeError) as exc:
            load.skipped.append(f"vote {vote.id} on run {vote.run_id[:8]}: {exc}")
    return load
