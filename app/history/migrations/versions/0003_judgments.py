"""Judgments: ``ratings`` (thumbs / stars / note per answer) and ``votes`` (one per compared run).

Both reference their run with ON DELETE CASCADE (the store also deletes them explicitly), so a
deleted run never leaves a vote behind. Only new tables: existing rows are untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_judgments"
down_revision = "0002_prompt_sets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("result_id", sa.Integer(), sa.ForeignKey("run_results.id", ondelete="CASCADE"), nullable=False),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("thumb", sa.Integer(), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ratings_result_id", "ratings", ["result_id"], unique=True)
    op.create_index("ix_ratings_run_id", "ratings", ["run_id"])
    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("winner_position", sa.Integer(), nullable=True),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.Column("seating", sa.String(), nullable=False),
    )
    op.create_index("ix_votes_run_id", "votes", ["run_id"], unique=True)
    op.create_index("ix_votes_created_at", "votes", ["created_at"])
    op.create_index("ix_votes_tag", "votes", ["tag"])


def downgrade() -> None:
    op.drop_table("votes")
    op.drop_table("ratings")
