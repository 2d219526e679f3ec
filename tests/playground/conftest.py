"""Playground tests: each gets its own data folder (settings file, SQLite history) via the env vars."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAIN = str(ROOT / "app" / "main.py")
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


@pytest.fixture
def app(data_dir: Path) -> Any:
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(MAIN, default_timeout=60)
