"""Alembic scripts for the history database (run by ``app.history.migrate`` at start)."""
