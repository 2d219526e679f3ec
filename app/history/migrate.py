"""Bring a history database to the current schema, in place, without losing a row.

A new database gets every revision from the baseline; one made before migrations existed (it has
the baseline tables but no ``alembic_version``) is stamped as the baseline first, then upgraded.
Runs at every start of the playground; a database already at head costs one query.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001_baseline"
BASELINE_TABLES = frozenset({"runs", "run_results", "run_messages"})


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision id."""
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"history migrations must form one line, found heads {heads}")
    return heads[0]


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Upgrade ``engine``'s database to the newest revision.

    Two processes starting on one new database race to create it; the loser's transaction fails,
    and its retry finds the work done.
    """
    target = head()
    for attempt in range(3):
        try:
            _upgrade_once(engine, target)
            return
        except DBAPIError:
            if attempt == 2:
                raise


def _upgrade_once(engine: Engine, target: str) -> None:
    with engine.begin() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        if revision == target:
            return
        config = _config(connection)
        if revision is None and set(inspect(connection).get_table_names()) >= BASELINE_TABLES:
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
