"""An index for the Usage page's demo share: which calls the built-in demo models answered.

- ``ix_run_results_endpoint`` (endpoint, backend, model) turns "how many calls went through a demo
  endpoint, or failed on a ``demo-`` model before any endpoint answered" into look-ups of those
  calls only, instead of a scan of every result (~60 ms at 300,000 results, on every page open
  with a new history version).
"""

from __future__ import annotations

from alembic import op

revision = "0005_demo_share_index"
down_revision = "0004_history_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_run_results_endpoint", "run_results", ["endpoint_id", "backend", "model"])


def downgrade() -> None:
    op.drop_index("ix_run_results_endpoint", table_name="run_results")
