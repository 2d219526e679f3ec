"""Process-wide resources (created once per process with ``st.cache_resource``) and the per-run context."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import streamlit as st

from app import paths
from app.history.store import HistoryStore
from app.settings.file import strip_url_password
from app.settings.playground_settings import PlaygroundSettings
from vv_llm.testing.demo import DemoBackend

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def demo_backend(pace: float) -> DemoBackend:
    """The offline demo server (started on first need, once per process)."""
    return DemoBackend(pace=pace).start()


@st.cache_resource(show_spinner=False)
def playground_settings(path: str, demo_mode: str, pace: float) -> PlaygroundSettings:
    from pathlib import Path

    return PlaygroundSettings(Path(path), demo_mode=demo_mode, start_demo=lambda: demo_backend(pace))


@st.cache_resource(show_spinner=False)
def history_store(url: str) -> HistoryStore:
    return HistoryStore(url)


def safe_url(url: str) -> str:
    """A database URL without its password, for display."""
    return strip_url_password(url)


@dataclass
class AppContext:
    settings: PlaygroundSettings
    history: HistoryStore | None
    history_problem: str | None = None

    @property
    def demo_active(self) -> bool:
        return self.settings.demo_active

    @property
    def demo_only(self) -> bool:
        return self.settings.demo_only


def context() -> AppContext:
    """The settings (loaded into the engine) and the history store for this script run."""
    ps = playground_settings(str(paths.settings_path()), paths.demo_mode(), paths.demo_pace())
    ps.ensure_applied()
    url = paths.database_url()
    try:
        store: HistoryStore | None = history_store(url)
    except Exception as exc:
        log.warning("history database unavailable: %s", type(exc).__name__)
        reason = str(exc) if isinstance(exc, ImportError) else type(exc).__name__  # a missing driver says what to install
        return AppContext(ps, None, f"the history database {safe_url(url)} is unavailable ({reason})")
    assert store is not None
    store.scrub = ps.scrub
    return AppContext(ps, store)
