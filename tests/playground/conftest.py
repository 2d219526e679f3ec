"""Playground tests: each gets its own data folder (settings file, SQLite history) via the env vars;
``history_url`` runs a test on SQLite and on PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAIN = str(ROOT / "streamlit_app.py")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from vv_llm.settings import settings

    folder = tmp_path / "vv-llm-data"
    monkeypatch.setenv("VV_LLM_DATA_DIR", str(folder))
    monkeypatch.setenv("VV_LLM_DEMO_PACE", "0.3")
    for var in ("VV_LLM_SETTINGS", "VV_LLM_DATABASE_URL", "VV_LLM_DEMO"):
        monkeypatch.delenv(var, raising=False)
    yield folder
    settings.reset()


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The history database, once a SQLite file in the data folder and once a fresh PostgreSQL
    database on the session's throwaway cluster; the playground is pointed at it."""
    if request.param == "sqlite":
        data_dir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{data_dir / 'history.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("VV_LLM_DATABASE_URL", url)
    return url


@pytest.fixture
def app(data_dir: Path) -> Any:
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(MAIN, default_timeout=60)
