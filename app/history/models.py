"""History tables: a run (one prompt), its per-model results, and each result's messages."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Run(SQLModel, table=True):
    __tablename__ = "runs"

    id: str = Field(primary_key=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=16)
    """``running``, ``done``, ``partial`` (some model failed or was stopped) or ``error`` (all failed)."""
    title: str = Field(default="", max_length=200)
    user_prompt: str = ""
    system_prompt: str | None = None
    image_count: int = 0
    parameters: str = "{}"
    """JSON: tools and each column's options."""
    parent_id: str | None = Field(default=None, max_length=32, index=True)
    """The run this one follows up on (same conversation)."""
    owner: str = Field(default="", max_length=120)
    """``host:pid`` of the process that ran it (to spot runs a crash interrupted)."""


class RunResult(SQLModel, table=True):
    __tablename__ = "run_results"
    # Migration 0004_history_indexes: what the Usage page reads of a result, by run (covering,
    # so long histories are aggregated without touching the text); the change counter; History's
    # model filter. Migration 0005_demo_share_index: the Usage page's count of demo calls.
    __table_args__ = (
        Index(
            "ix_run_results_usage",
            "run_id",
            "model",
            "backend",
            "endpoint_id",
            "status",
            "prompt_tokens",
            "completion_tokens",
            "cached_tokens",
            "cost_usd",
            "ttft_s",
            "total_s",
        ),
        Index("ix_run_results_finished_at", "finished_at"),
        Index("ix_run_results_model_run", "model", "run_id"),
        Index("ix_run_results_endpoint", "endpoint_id", "backend", "model"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=32)
    position: int = 0
    backend: str = Field(default="", max_length=40)
    model: str = Field(default="", max_length=200, index=True)
    endpoint_id: str | None = Field(default=None, max_length=200)
    status: str = Field(default="running", max_length=16)
    """``running``, ``done``, ``partial``, ``stopped`` or ``error``."""
    content: str = ""
    reasoning: str | None = None
    tool_calls: str | None = None
    """JSON list of OpenAI-shape tool calls."""
    finish_reason: str | None = Field(default=None, max_length=40)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None
    usage_estimated: bool = False
    """Token counts (and cost) were counted locally: the stream ended without the provider's report."""
    ttft_s: float | None = None
    total_s: float | None = None
    error_type: str | None = Field(default=None, max_length=80)
    error_message: str | None = None
    parameters: str = "{}"
    """JSON: temperature, max_tokens, thinking for this column."""
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class RunMessage(SQLModel, table=True):
    __tablename__ = "run_messages"

    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="run_results.id", index=True)
    position: int = 0
    role: str = Field(default="user", max_length=20)
    body: str = "{}"
    """The message as OpenAI-format JSON."""
