"""Helpers shared by the playground tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def wait_for_run(at: Any, timeout: float = 60) -> Any:
    """Rerun the app until the current comparison has finished (as the live view would)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conversation = at.session_state["conversation"]
        except KeyError:
            conversation = None
        if conversation is None or conversation.current is None:
            raise AssertionError("no comparison is running")
        if conversation.current.run.finished:
            return at.run()
        if time.monotonic() > deadline:
            raise AssertionError("the comparison did not finish")
        conversation.current.run.wait(0.2)
        at.run()


def history_store(data_dir: Path) -> Any:
    from app.history.store import HistoryStore

    return HistoryStore(f"sqlite:///{data_dir / 'history.db'}")


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


def page_source(at: Any) -> str:
    """Everything the app sent to the browser in the last run (every element's protobuf, as text)."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)
