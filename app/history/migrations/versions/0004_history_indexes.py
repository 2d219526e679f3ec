"""Indexes for a long history: the Usage page's window reads and the history's change counter.

- ``ix_run_results_usage`` covers what the usage aggregates read of a result (by ``run_id``, the
  way the window's runs reach their results), so they never touch the rows' text;
- ``ix_run_results_finished_at`` makes "the latest finished result" one index look-up (part of
  the cheap version the playground caches its pages on);
- ``ix_run_results_model_run`` answers "runs with this model" from the index alone (History's
  model filter, Usage's model list).
"""

from __future__ import annotations

from alembic import op

revision = "0004_history_indexes"
down_revision = "0003_judgments"
branch_labels = None
depends_on = None

USAGE_COLUMNS = [
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
]


def upgrade() -> None:
    op.create_index("ix_run_results_usage", "run_results", USAGE_COLUMNS)
    op.create_index("ix_run_results_finished_at", "run_results", ["finished_at"])
    op.create_index("ix_run_results_model_run", "run_results", ["model", "run_id"])


def downgrade() -> None:
    op.drop_index("ix_run_results_model_run", table_name="run_results")
    op.drop_index("ix_run_results_finished_at", table_name="run_results")
    op.drop_index("ix_run_results_usage", table_name="run_results")
