"""Judging on Compare: blind mode, rating each answer, the vote, and continuing with the winner.

Compare calls four hooks: ``blind_toggle`` in its setup, ``names_hidden`` to leave out what names
the models while a blind vote is pending, ``arrange`` to get the columns in seating order (masked
while blind), and ``panel`` under the results. Everything else about judging lives here.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from app.arena import blind
from app.arena.outcomes import OUTCOME_ALL_BAD, OUTCOME_TIE, OUTCOME_WINNER
from app.bootstrap import AppContext
from app.compare.conversation import Conversation, Turn
from app.compare.model_picker import parse_ref
from app.compare.runner import ColumnState, CompareRun
from app.history.judgments import Seat, ratings_for, record_vote, result_ids, vote_for
from app.ui.common import md_escape
from app.ui.rating import rating_widget

BLIND_KEY = "blind_mode"
SEATINGS_KEY = "blind_seatings"
TAG_KEY = "vote_tag"
state = st.session_state


def blind_toggle() -> None:
    st.toggle(
        "Blind mode",
        key=BLIND_KEY,
        help="Shuffle the answers and label them Model A, B, … — names, endpoints and costs stay hidden until you vote.",
    )


def _model_name(ref: str) -> str:
    try:
        return parse_ref(ref)[1]
    except ValueError:
        return ref


def seating(conversation: Conversation) -> blind.Seating | None:
    """The blind seating of this conversation (made when blind mode first shows it), else None."""
    if not conversation.turns or len(conversation.refs) < 2:
        return None
    seatings: dict[str, blind.Seating] = state.setdefault(SEATINGS_KEY, {})
    key = conversation.turns[0].run.id
    found = seatings.get(key)
    if found is None and state.get(BLIND_KEY) and not conversation.turns[0].run.meta.get("restored"):
        # a run reopened from History was seen with its names: it cannot be judged blind
        found = seatings[key] = blind.seat([_model_name(r) for r in conversation.refs], key)
    return found


def names_hidden(conversation: Conversation | None) -> bool:
    """Whether a blind vote is pending on this conversation: nothing may name its models."""
    if conversation is None or not state.get(BLIND_KEY):
        return False
    found = seating(conversation)
    return found is not None and not found.revealed


def keep_hidden_widgets(hidden: bool, keys: Sequence[str]) -> None:
    """Keep the values of widgets left out while names are hidden.

    Streamlit forgets the value of a widget that is not drawn, so the values are re-set while
    hidden; drawn again, each widget shows its value (it takes it as its default: ``shown_value``).
    """
    if hidden:
        for key in keys:
            if key in state:
                state[key] = state[key]


@dataclass
class ShownColumn:
    index: int
    """The column (its place in the run, ``run_results.position`` on the first turn)."""
    state: ColumnState
    earlier: list[dict[str, Any]]
    blind: bool


def arrange(conversation: Conversation, snapshot: list[ColumnState]) -> list[ShownColumn]:
    """The columns in screen order; while a blind vote is pending, labelled and masked."""
    upto = len(conversation.turns) - 1
    found = seating(conversation)
    order = found.order if found is not None and len(found.order) == len(snapshot) else list(range(len(snapshot)))
    hidden = names_hidden(conversation)
    shown = []
    for slot, column in enumerate(order):
        earlier = conversation.history(column, upto=upto) if column < len(conversation.refs) else []
        column_state = snapshot[column]
        if hidden and found is not None:
            masks = found.masks()
            column_state = blind.masked_state(column_state, blind.label(slot), masks)
            earlier = blind.masked_messages(earlier, masks)
        elif found is not None:
            column_state = copy.copy(column_state)
            column_state.model = f"{blind.label(slot)} · {column_state.model}"
        shown.append(ShownColumn(column, column_state, earlier, hidden))
    return shown


def stored_positions(run: CompareRun) -> list[int]:
    """Each column's ``run_results.position`` (a continued single column keeps its original place)."""
    positions = run.meta.get("positions")
    return list(positions) if isinstance(positions, list) else list(range(len(run.states)))


def rate_columns(ctx: AppContext, run: CompareRun, columns: Sequence[ShownColumn], containers: Sequence[Any]) -> None:
    """A rating widget under each finished answer (when history is on)."""
    if ctx.history is None or not run.finished:
        return
    ids = result_ids(ctx.history, run.id)
    positions = stored_positions(run)
    wanted = {c.index: ids.get(positions[c.index]) for c in columns if c.index < len(positions)}
    ratings = ratings_for(ctx.history, [i for i in wanted.values() if i is not None])
    for slot, (column, container) in enumerate(zip(columns, containers, strict=False)):
        result_id = wanted.get(column.index)
        if result_id is not None:
            with container:  # keyed by screen slot: a result id would tell the picking order in blind mode
                rating_widget(ctx.history, result_id, key=f"rate-{run.id[:12]}-{slot}", rating=ratings.get(result_id), loaded=True)


# -- the vote --------------------------------------------------------------------------------
def _seats(conversation: Conversation, run: CompareRun, ids: dict[int, int], order: list[int], hidden_labels: bool) -> list[Seat]:
    positions = stored_positions(run)
    seats = []
    for slot, column in enumerate(order):
        backend, model = parse_ref(conversation.refs[column])
        seats.append(
            Seat(
                label=blind.label(slot) if hidden_labels else model,
                position=positions[column],
                result_id=ids.get(positions[column]),
                backend=backend,
                model=model,
            )
        )
    return seats


def _vote(ctx: AppContext, conversation: Conversation, outcome: str, column: int | None) -> None:
    assert ctx.history is not None
    run = conversation.turns[-1].run
    found = seating(conversation)
    hidden = names_hidden(conversation)
    order = found.order if found is not None else list(range(len(conversation.refs)))
    positions = stored_positions(run)
    try:
        record_vote(
            ctx.history,
            run.id,
            outcome=outcome,
            winner_position=positions[column] if column is not None else None,
            seats=_seats(conversation, run, result_ids(ctx.history, run.id), order, found is not None),
            blind=hidden,
            tag=state.get(TAG_KEY) or "",
        )
    except ValueError as exc:
        state["judge_problem"] = f"The vote was not saved: {exc}"
        return
    if found is not None:
        found.revealed = True


def _continue_with(conversation: Conversation, column: int) -> None:
    """Keep one column: its model alone, with its own conversation so far (a branch of this run)."""
    turn = conversation.turns[-1]
    solo_state = copy.deepcopy(turn.run.states[column])
    positions = stored_positions(turn.run)
    run = CompareRun.restored([solo_state], run_id=turn.run.id, meta={**turn.run.meta, "positions": [positions[column]]})
    base = conversation.history(column, upto=len(conversation.turns) - 1)
    solo = Conversation(
        refs=[conversation.refs[column]],
        system_prompt=conversation.system_prompt,
        base=[base],
        turns=[Turn(turn.prompt, turn.user_message, run)],
    )
    state["conversation"] = solo
    state["compare_models"] = [conversation.refs[column]]
    state["judge_notice"] = f"Continuing with **{md_escape(_model_name(conversation.refs[column]))}** alone; the other columns are closed."


def _fork(conversation: Conversation) -> None:
    turn = int(state.get("fork_turn") or len(conversation.turns))
    forked = Conversation(
        refs=list(conversation.refs), system_prompt=conversation.system_prompt, base=conversation.base, turns=conversation.turns[:turn]
    )
    state["conversation"] = forked
    state["compare_models"] = list(conversation.refs)
    state["judge_notice"] = f"Forked a new comparison from turn {turn}: the next prompt continues from there (History shows the branch)."


def _outcome_text(outcome: str, winner: str | None, count: int) -> str:
    if outcome == OUTCOME_WINNER and winner:
        return f"{winner} is better" if count == 2 else f"{winner} is best"
    if outcome == OUTCOME_TIE:
        return "a tie"
    return "both bad" if count == 2 else "all bad"


def panel(ctx: AppContext, conversation: Conversation) -> None:
    """Under finished results: the vote (blind or not), then continue with one model or fork."""
    turn = conversation.current
    if turn is None or not turn.run.finished:
        return
    if notice := state.pop("judge_notice", None):
        st.success(notice, icon=":material/call_split:")
    if problem := state.pop("judge_problem", None):
        st.error(problem, icon=":material/error:")
    run = turn.run
    count = len(conversation.refs)
    found = seating(conversation)
    hidden = names_hidden(conversation)
    order = found.order if found is not None and len(found.order) == count else list(range(count))

    def name(column: int) -> str:
        slot = order.index(column)
        if hidden:
            return blind.label(slot)
        model = _model_name(conversation.refs[column])
        return f"{blind.label(slot)} ({model})" if found is not None else model

    existing = vote_for(ctx.history, run.id) if count >= 2 and ctx.history is not None else None
    if count >= 2 and ctx.history is not None:
        with st.container(border=True, key="judge-vote"):
            st.markdown("**Which answer is better?**" + ("  \nNames are hidden until you vote." if hidden else ""))
            with st.container(horizontal=True, gap="small", vertical_alignment="center"):
                for slot, column in enumerate(order):
                    st.button(
                        f"{name(column)} is better" if count == 2 else f"{name(column)} is best",
                        key=f"vote-slot-{slot}",
                        icon=":material/thumb_up:",
                        on_click=_vote,
                        args=(ctx, conversation, OUTCOME_WINNER, column),
                    )
                st.button("Tie", key="vote-tie", icon=":material/drag_handle:", on_click=_vote, args=(ctx, conversation, OUTCOME_TIE, None))
                st.button(
                    "Both bad" if count == 2 else "All bad",
                    key="vote-bad",
                    icon=":material/thumb_down:",
                    on_click=_vote,
                    args=(ctx, conversation, OUTCOME_ALL_BAD, None),
                )
                st.text_input("Tag", key=TAG_KEY, placeholder="optional, e.g. coding", label_visibility="collapsed", width=220)
            if existing is not None:
                positions = stored_positions(run)
                winner = next((c for c in range(count) if positions[c] == existing.winner_position), None)
                said = _outcome_text(existing.outcome, name(winner) if winner is not None else None, count)
                revealed = ", ".join(f"{blind.label(order.index(c))} was **{md_escape(_model_name(conversation.refs[c]))}**" for c in order)
                st.success(
                    f"Your vote: **{md_escape(said)}**" + (f" — {revealed}." if found is not None else ".") + " Voting again replaces it.",
                    icon=":material/how_to_vote:",
                )
    if hidden:
        return
    with st.container(horizontal=True, gap="small", vertical_alignment="center", key="judge-continue"):
        if count >= 2:
            positions = stored_positions(run)
            for column in order:
                is_winner = existing is not None and existing.winner_position == positions[column]
                st.button(
                    f"Continue with {_model_name(conversation.refs[column])}" + (" (winner)" if is_winner else ""),
                    key=f"continue-{order.index(column)}",
                    icon=":material/arrow_forward:",
                    type="primary" if is_winner else "secondary",
                    on_click=_continue_with,
                    args=(conversation, column),
                    help="Keep this model alone, with its own conversation so far; the other columns close.",
                )
        if len(conversation.turns) > 1:
            st.selectbox(
                "Fork from turn",
                list(range(1, len(conversation.turns))),
                key="fork_turn",
                format_func=lambda t: f"turn {t}",
                label_visibility="collapsed",
                width=140,
            )
            st.button("Fork from this turn", key="fork-button", icon=":material/call_split:", on_click=_fork, args=(conversation,))
