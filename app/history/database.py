"""The history database's engine: SQLite (a file, WAL) by default, or any SQLAlchemy URL — PostgreSQL for teams.

``postgresql://`` and ``postgres://`` URLs use psycopg 3 (``pip install 'vv-llm[postgres]'``); every
PostgreSQL session runs in UTC so stored times read back the same whatever the server's zone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

POSTGRES_HINT = "PostgreSQL history needs psycopg 3: pip install 'vv-llm[postgres]'"


def normalise_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` → ``postgresql+psycopg://`` (the driver the extra installs)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def create_history_engine(url: str) -> Engine:
    """An engine for ``url``; raises ImportError with the install hint when its driver is missing."""
    url = normalise_url(url)
    backend = make_url(url).get_backend_name()
    try:
        if backend == "sqlite":
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        if backend == "postgresql":
            return create_engine(url, connect_args={"options": "-c timezone=UTC"}, pool_pre_ping=True)
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        if backend == "postgresql" and (exc.name or "").startswith("psycopg"):
            raise ImportError(POSTGRES_HINT, name=exc.name) from None
        raise


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
