"""Small shared pieces: page header, demo notice, Markdown escaping of our own labels."""

from __future__ import annotations

import re

import streamlit as st

from app.bootstrap import AppContext
from app.formatting import home_relative

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:~$])")


def md_escape(text: str) -> str:
    """Escape ``text`` so Markdown shows it literally (for names taken from settings)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def header(title: str, caption: str) -> None:
    st.title(title, anchor=False)
    st.caption(caption)


def demo_notice(ctx: AppContext) -> None:
    if ctx.demo_active:
        st.info(
            "**Demo mode** — no API key is configured yet, so the models marked **demo** are offline "
            "simulators built into vv-llm (no network, no cost). Add a key on **Endpoints & models** "
            "and your real models appear.",
            icon=":material/science:",
        )


def settings_problem(ctx: AppContext) -> None:
    loaded = ctx.settings.loaded
    if loaded.problem:
        st.error(f"Your settings file could not be read: {loaded.problem}", icon=":material/error:")
    elif loaded.errors:
        st.error(
            f"Your settings file `{home_relative(loaded.path)}` has {len(loaded.errors)} problem(s); fix them on **Endpoints & models**.",
            icon=":material/error:",
        )
