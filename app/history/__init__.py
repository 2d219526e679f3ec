"""Run history: SQLModel tables over any SQLAlchemy URL (SQLite in WAL mode by default)."""
