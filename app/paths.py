"""Where the playground keeps its files; each can be overridden by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "VV_LLM_DATA_DIR"
SETTINGS_ENV = "VV_LLM_SETTINGS"
DATABASE_ENV = "VV_LLM_DATABASE_URL"
DEMO_ENV = "VV_LLM_DEMO"
"""``auto`` (default: demo models when no endpoint has a key), ``on`` or ``off``."""
DEMO_PACE_ENV = "VV_LLM_DEMO_PACE"
"""Scale the demo models' delays (``0.2`` is five times faster)."""


def data_dir() -> Path:
    """``$VV_LLM_DATA_DIR``, else ``$XDG_DATA_HOME/vv-llm``, else ``~/.local/share/vv-llm`` (created, 0700)."""
    given = os.environ.get(DATA_DIR_ENV)
    if given:
        path = Path(given).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "vv-llm"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def settings_path() -> Path:
    """``$VV_LLM_SETTINGS``, else ``settings.json`` in the data folder."""
    given = os.environ.get(SETTINGS_ENV)
    return Path(given).expanduser() if given else data_dir() / "settings.json"


def database_url() -> str:
    """``$VV_LLM_DATABASE_URL`` (any SQLAlchemy URL, e.g. PostgreSQL), else SQLite in the data folder."""
    return os.environ.get(DATABASE_ENV) or f"sqlite:///{data_dir() / 'history.db'}"


def demo_mode() -> str:
    value = os.environ.get(DEMO_ENV, "auto").strip().lower()
    return {"1": "on", "true": "on", "yes": "on", "0": "off", "false": "off", "no": "off"}.get(
        value, value if value in ("on", "off") else "auto"
    )


def demo_pace() -> float:
    try:
        return max(0.0, float(os.environ.get(DEMO_PACE_ENV, "1")))
    except ValueError:
        return 1.0
