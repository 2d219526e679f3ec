"""Small shared pieces: page header, demo notice, Markdown escaping of our own labels, widget defaults."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from app.bootstrap import AppContext
from app.formatting import home_relative


def shown_value(key: str, default: Any = None) -> Any:
    """The ``value=`` for a keyed input widget: what it holds now, else ``default``.

    The widget's element default then always equals its current value. A browser that mounts the
    widget without the latest value (a rerun interrupting the run that drew it, as happens under
    load) would otherwise fall back to the widget's own default, ``min_value`` for a number: the
    matrix once sent every cell with a max output tokens of 1 that way.
    """
    return st.session_state.get(key, default)


def system_prompt_area(key: str, *, height: int, show_label: bool = True) -> None:
    """The system prompt's text area (its value kept as :func:`shown_value` keeps it)."""
    st.text_area(
        "System prompt",
        key=key,
        value=shown_value(key, ""),
        height=height,
        label_visibility="visible" if show_label else "collapsed",
        placeholder="You are a helpful assistant.",
    )


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:~$])")


def md_escape(text: str) -> str:
    """Escape ``text`` so Markdown shows it literally (for names taken from settings)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def header(title: str, caption: str) -> None:
    st.title(title, anchor=False)
    st.caption(caption)


def demo_notice(ctx: AppContext) -> None:
    """The demo banner, saying why only demo models can run (or that demo models sit next to real ones)."""
    if not ctx.demo_active:
        return
    loaded = ctx.settings.loaded
    if ctx.settings.has_real_endpoint:
        st.caption(
            ":violet-badge[:material/science: demo] models are offline simulators built into vv-llm, listed after your "
            "real models: no network, and their costs are simulated (the Usage page can leave them out)."
        )
    elif loaded.problem or loaded.errors:
        st.info(
            "**Demo mode** — your settings file has problems (see above), so only the models marked **demo** can run: "
            "offline simulators built into vv-llm (no network, simulated costs). Fix the settings on **Endpoints & models**.",
            icon=":material/science:",
        )
    elif loaded.data.get("endpoints"):
        st.info(
            "**Demo mode** — none of your endpoints has an API key yet, so only the models marked **demo** can run: "
            "offline simulators built into vv-llm (no network, simulated costs). Add a key on **Endpoints & models**.",
            icon=":material/science:",
        )
    else:
        st.info(
            "**Demo mode** — no API key is configured yet, so the models marked **demo** are offline "
            "simulators built into vv-llm (no network, simulated costs). Add a key on **Endpoints & models** "
            "and your real models appear next to them.",
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
