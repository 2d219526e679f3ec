"""Judgment tables: a rating per answer (thumbs, stars, note) and a vote per comparison run."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.history.models import utcnow


class Rating(SQLModel, table=True):
    __tablename__ = "ratings"

    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="run_results.id", ondelete="CASCADE", unique=True, index=True)
    """The rated answer (one rating per answer; rating again edits it)."""
    run_id: str = Field(foreign_key="runs.id", ondelete="CASCADE", index=True, max_length=32)
    thumb: int | None = None
    """``1`` thumbs up, ``-1`` thumbs down."""
    stars: int | None = None
    """1–5."""
    note: str = Field(default="", max_length=500)
    updated_at: datetime = Field(default_factory=utcnow)


class Vote(SQLModel, table=True):
    __tablename__ = "votes"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", ondelete="CASCADE", unique=True, index=True, max_length=32)
    """The judged comparison (one vote per run; voting again replaces it)."""
    created_at: datetime = Field(default_factory=utcnow, index=True)
    """When the vote was (last) cast."""
    outcome: str = Field(default="winner", max_length=16)
    """``winner`` (see ``winner_position``), ``tie`` or ``all_bad``."""
    winner_position: int | None = None
    """``run_results.position`` of the best answer."""
    blind: bool = False
    """The names were hidden when the vote was cast."""
    tag: str = Field(default="", max_length=100, index=True)
    """Free-text label to group votes (e.g. a prompt set or a task)."""
    seating: str = "[]"
    """JSON: where each model sat, ``[{"label", "position", "result_id", "backend", "model"}]`` in screen order."""
