"""``rating_widget``: thumbs up/down, 1–5 stars and a short note for one stored answer.

Keyed only by ``run_results.id``, so any page that shows a stored answer (Compare columns, History,
matrix cells) can offer it; changes are saved at once, and what is shown comes from the database.
"""

from __future__ import annotations

import streamlit as st

from app.history.judgment_models import Rating
from app.history.judgments import NOTE_MAX, ratings_for, save_rating
from app.history.store import HistoryStore

_THUMB_TO_WIDGET = {1: 1, -1: 0}
_WIDGET_TO_THUMB = {1: 1, 0: -1}


def _keys(base: str) -> tuple[str, str, str]:
    return f"{base}-thumbs", f"{base}-stars", f"{base}-note"


def _save(store: HistoryStore, result_id: int, base: str) -> None:
    thumbs, stars, note = (st.session_state.get(k) for k in _keys(base))
    try:
        save_rating(
            store,
            result_id,
            thumb=_WIDGET_TO_THUMB.get(thumbs) if thumbs is not None else None,
            stars=stars + 1 if stars is not None else None,
            note=note,
        )
    except ValueError as exc:
        st.session_state[f"{base}-problem"] = str(exc)


def _initialise(rating: Rating | None, keys: tuple[str, str, str], stamp_key: str) -> None:
    """Put the stored rating into the widgets when first drawn, and again whenever it was changed elsewhere."""
    thumbs, stars, note = keys
    state = st.session_state
    stamp = rating.updated_at.isoformat() if rating else ""
    if state.get(stamp_key) == stamp and all(k in state for k in keys):
        return
    state[stamp_key] = stamp
    state[thumbs] = _THUMB_TO_WIDGET.get(rating.thumb) if rating and rating.thumb is not None else None
    state[stars] = rating.stars - 1 if rating and rating.stars else None
    state[note] = rating.note if rating else ""


def rating_widget(
    store: HistoryStore,
    result_id: int,
    *,
    key_prefix: str = "rate",
    key: str | None = None,
    rating: Rating | None = None,
    loaded: bool = False,
) -> None:
    """Rate answer ``result_id``: thumbs, stars, note (saved as they change).

    Widget keys are ``{key_prefix}-{result_id}-…``, or ``{key}-…`` when given (blind mode passes a key
    without the id: ids follow the order the models were picked in). Pass ``rating`` with
    ``loaded=True`` when the caller already read it (one query for a page of answers).
    """
    base = key or f"{key_prefix}-{result_id}"
    keys = _keys(base)
    if not loaded:
        rating = ratings_for(store, [result_id]).get(result_id)
    _initialise(rating, keys, f"{base}-stamp")
    problem = st.session_state.pop(f"{base}-problem", None)
    with st.container(horizontal=True, gap="small", vertical_alignment="center", key=base):
        st.feedback("thumbs", key=keys[0], on_change=_save, args=(store, result_id, base))
        st.feedback("stars", key=keys[1], on_change=_save, args=(store, result_id, base))
        noted = bool(st.session_state.get(keys[2]))
        with st.popover("Note ✓" if noted else "Note", icon=":material/edit_note:"):
            st.text_input(
                "Note on this answer",
                key=keys[2],
                max_chars=NOTE_MAX,
                placeholder="Why it is good or bad (Enter saves)",
                on_change=_save,
                args=(store, result_id, base),
            )
    if problem:
        st.warning(f"The rating was not saved: {problem}", icon=":material/warning:")
