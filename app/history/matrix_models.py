"""Tables for prompt sets and matrix runs (revision ``0002_prompt_sets``).

A matrix run is a ``runs`` row like any comparison; each of its cells is a ``run_results`` row (so
Usage, exports and ratings see cells as ordinary results). ``matrix_runs`` holds what the run was
made of (template, rows, models, options) and ``matrix_cells`` says which result answers which
(prompt row, model). Deleting a run deletes its matrix rows with it (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.history.models import utcnow


class PromptSetRow(SQLModel, table=True):
    __tablename__ = "prompt_sets"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    template: str = ""
    """The prompt with ``{{variables}}`` (empty: each row's ``prompt`` is the whole prompt)."""
    system_prompt: str | None = None
    columns: str = "[]"
    """JSON list of the variable names."""
    rows: str = "[]"
    """JSON list of ``{variable: value}`` objects."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MatrixRunRow(SQLModel, table=True):
    __tablename__ = "matrix_runs"

    run_id: str = Field(primary_key=True, foreign_key="runs.id", ondelete="CASCADE", max_length=32)
    prompt_set_id: int | None = Field(default=None, foreign_key="prompt_sets.id", ondelete="SET NULL", index=True)
    name: str = Field(default="", max_length=200)
    template: str = ""
    system_prompt: str | None = None
    columns: str = "[]"
    rows: str = "[]"
    """The rows as they were when the run started (the set may be edited later; resume sends these)."""
    models: str = "[]"
    """JSON list of ``backend/model`` refs, one per matrix column."""
    options: str = "{}"
    """JSON: temperature and max_tokens sent with every cell."""
    concurrency: int = 4
    budget_usd: float | None = None
    estimate_usd: float | None = None
    """The upper-bound estimate shown before the run started."""
    status: str = Field(default="running", max_length=16)
    """``running``, ``done``, ``stopped`` or ``interrupted`` (a process died while it ran)."""
    row_count: int = 0
    model_count: int = 0


class MatrixCellRow(SQLModel, table=True):
    __tablename__ = "matrix_cells"
    __table_args__ = (UniqueConstraint("run_id", "row_index", "model_index", name="uq_matrix_cells_cell"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", ondelete="CASCADE", index=True, max_length=32)
    row_index: int = 0
    model_index: int = 0
    result_id: int = Field(foreign_key="run_results.id", ondelete="CASCADE", unique=True)
