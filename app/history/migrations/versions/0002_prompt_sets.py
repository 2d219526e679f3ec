"""Prompt sets and matrix runs: ``prompt_sets``, ``matrix_runs``, ``matrix_cells``.

Only adds tables: every existing run, result and message stays as it is. A matrix run's cells are
ordinary ``run_results`` rows; these tables say which (prompt row, model) each one answers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_prompt_sets"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompt_sets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("template", sa.String(), nullable=False),
        sa.Column("system_prompt", sa.String(), nullable=True),
        sa.Column("columns", sa.String(), nullable=False),
        sa.Column("rows", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "matrix_runs",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("prompt_set_id", sa.Integer(), sa.ForeignKey("prompt_sets.id", ondelete="SET NULL"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("template", sa.String(), nullable=False),
        sa.Column("system_prompt", sa.String(), nullable=True),
        sa.Column("columns", sa.String(), nullable=False),
        sa.Column("rows", sa.String(), nullable=False),
        sa.Column("models", sa.String(), nullable=False),
        sa.Column("options", sa.String(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("budget_usd", sa.Float(), nullable=True),
        sa.Column("estimate_usd", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("model_count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_matrix_runs_prompt_set_id", "matrix_runs", ["prompt_set_id"])
    op.create_table(
        "matrix_cells",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("model_index", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), sa.ForeignKey("run_results.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.UniqueConstraint("run_id", "row_index", "model_index", name="uq_matrix_cells_cell"),
    )
    op.create_index("ix_matrix_cells_run_id", "matrix_cells", ["run_id"])


def downgrade() -> None:
    op.drop_table("matrix_cells")
    op.drop_table("matrix_runs")
    op.drop_table("prompt_sets")
