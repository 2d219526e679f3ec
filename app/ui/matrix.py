"""Drawing a matrix run: progress, per-model summary, the cell grid, a row's diff; and the cost guard's table.

Model text is shown with ``st.markdown`` (never ``unsafe_allow_html``) or through the escaped diff.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import streamlit as st

from app import formatting as fmt
from app.compare.conversation import restored_state
from app.compare.cost_guard import CostEstimate
from app.compare.matrix import Cell, MatrixSpec, ModelSummary, Progress, summarize
from app.compare.runner import ERROR, PARTIAL, STOPPED, STREAMING, WAITING, ColumnState
from app.ui.common import md_escape
from app.ui.diff import render_answer_diff
from app.ui.results import BadgeColor, metrics_markdown, status_look

if TYPE_CHECKING:
    from app.history.store import RunView

MATRIX_STATUS: dict[str, tuple[str, BadgeColor]] = {
    "running": ("Running", "blue"),
    "done": ("Done", "green"),
    "stopped": ("Stopped", "gray"),
    "interrupted": ("Interrupted", "orange"),
}


def progress_text(progress: Progress, running: bool) -> str:
    eta = f" · about {fmt.seconds(progress.eta)} to go" if running and progress.eta is not None else ""
    state = "" if running else (" · done" if progress.done == progress.total else "")
    return f"{progress.done} / {progress.total} cells · {fmt.seconds(progress.elapsed)} elapsed{eta}{state}"


def render_progress(progress: Progress, running: bool) -> None:
    st.progress(progress.fraction, text=progress_text(progress, running))


def estimate_rows(estimate: CostEstimate) -> list[dict[str, Any]]:
    rows = [
        {
            "model": m.ref,
            "calls": m.calls,
            "prompt tokens": m.prompt_tokens,
            "counted": "exact" if m.exact_tokens else "estimated",
            "output tokens (at most)": m.max_output_tokens,
            "input cost": fmt.cost(m.input_cost),
            "cost (upper bound)": fmt.cost(m.upper_cost),
            "note": m.problem or "",
        }
        for m in estimate.models
    ]
    return rows


def summary_rows(summaries: Sequence[ModelSummary]) -> list[dict[str, object]]:
    return [
        {
            "model": s.ref,
            "finished": f"{s.finished} / {s.cells}",
            "median TTFT": fmt.seconds(s.median_ttft),
            "total cost": fmt.cost(s.total_cost),
            "error rate": "–" if s.error_rate is None else f"{s.error_rate:.0%}",
            "mean answer length": "–" if s.mean_length is None else f"{s.mean_length:,.0f} chars",
        }
        for s in summaries
    ]


def render_cell(state: ColumnState | None, key: str) -> None:
    """One cell: status, TTFT, tokens/s, tokens and cost; the answer in an expander (``st-key-{key}``)."""
    with st.container(border=True, key=key):
        if state is None:
            st.badge("Not sent", color="gray", icon=":material/hourglass_empty:")
            return
        label, color, icon = status_look(state.status)
        st.badge(label, color=color, icon=icon)
        if state.status != WAITING:
            st.markdown(metrics_markdown(state))
        if state.content or state.reasoning or state.tool_calls:
            with st.expander(f"Answer ({len(state.content):,} chars)", expanded=False):
                if state.reasoning:
                    st.caption("Reasoning")
                    st.markdown(state.reasoning)
                st.markdown(state.content + (" ▍" if state.status == STREAMING else ""))
                for call in state.tool_calls:
                    function = call.get("function") or {}
                    st.code(f"{function.get('name')}({function.get('arguments') or ''})", language="text", wrap_lines=True)
        if state.status in (ERROR, PARTIAL):
            st.caption(f":red[{md_escape(state.error_type or 'Error')}] {md_escape(fmt.shorten(state.error_message or '', 160))}")
        elif state.status == STOPPED:
            st.caption("Stopped — resume sends it again.")
        elif state.status == "running":
            st.caption("Interrupted — resume sends it again.")


def render_grid(spec: MatrixSpec, states: dict[Cell, ColumnState], cells: Sequence[Cell], models: Sequence[int], *, limit: int) -> int:
    """Rows holding a shown cell, up to ``limit`` rows; returns how many rows matched."""
    by_row: dict[int, set[int]] = {}
    for r, m in cells:
        by_row.setdefault(r, set()).add(m)
    rows = list(by_row)
    header = st.columns([2.2] + [3] * len(models), gap="small")
    header[0].markdown("**Prompt**")
    for slot, m in zip(header[1:], models, strict=True):
        slot.markdown(f"**{md_escape(spec.models[m].partition('/')[2] or spec.models[m])}**")
    for r in rows[:limit]:
        line = st.columns([2.2] + [3] * len(models), gap="small")
        with line[0]:
            st.caption(f"#{r + 1}")
            st.text(fmt.shorten(spec.prompt(r), 220))
        for slot, m in zip(line[1:], models, strict=True):
            with slot:
                if m in by_row[r]:
                    render_cell(states.get((r, m)), f"cell-{r}-{m}")
    return len(rows)


def render_row_diff(spec: MatrixSpec, states: dict[Cell, ColumnState], *, key: str = "matrix-diff") -> None:
    """Pick a prompt row and two of its answers; show their difference."""
    answered_rows = sorted({r for (r, _m), s in states.items() if s.content})
    if not answered_rows:
        st.caption("Answers to compare appear here once cells finish.")
        return
    c1, c2, c3 = st.columns([3, 2, 2])
    row = c1.selectbox("Row", answered_rows, format_func=lambda r: f"#{r + 1} · {fmt.shorten(spec.prompt(r), 70)}", key=f"{key}-row")
    answered = [m for m in range(len(spec.models)) if states.get((row, m)) and states[(row, m)].content]
    if len(answered) < 2:
        st.caption("This row has fewer than two answers to compare.")
        return
    a = c2.selectbox("Answer A", answered, format_func=lambda m: spec.models[m], key=f"{key}-a")
    b = c3.selectbox("Answer B", answered, index=1 if len(answered) > 1 else 0, format_func=lambda m: spec.models[m], key=f"{key}-b")
    render_answer_diff(states[(row, a)].content, states[(row, b)].content, labels=(spec.models[a], spec.models[b]), key=f"{key}-view")


# -- in History ------------------------------------------------------------------------------
def history_badges(view: RunView) -> None:
    """A matrix run's line in History: its size and status, and each model's answered cells."""
    info = view.matrix
    assert info is not None
    label, color = MATRIX_STATUS.get(info.row.status, (info.row.status, "gray"))
    st.badge(f"Matrix {info.row.row_count} × {info.row.model_count} · {label}", color=color, icon=":material/grid_view:")
    done: dict[int, int] = {}
    for r in view.results:
        cell = info.cells.get(r.result.id or -1)
        if cell is not None and r.result.status == "done":
            done[cell[1]] = done.get(cell[1], 0) + 1
    for m, ref in enumerate(info.models):
        answered = done.get(m, 0)
        st.badge(
            f"{ref.partition('/')[2] or ref} {answered}/{info.row.row_count}",
            color="green" if answered == info.row.row_count else "orange",
            help=f"{ref}: {answered} of {info.row.row_count} prompts answered",
        )


def history_details(view: RunView) -> None:
    """What the History card's Details shows for a matrix run: the template, the set's size, a summary per model."""
    info = view.matrix
    assert info is not None
    if info.row.system_prompt:
        st.markdown("**System prompt**")
        st.text(info.row.system_prompt)
    st.markdown("**Template**" if info.row.template.strip() else "**Plain prompts**")
    if info.row.template.strip():
        st.text(info.row.template)
    st.caption(f"{info.row.row_count} prompts × {info.row.model_count} models · {len(info.cells)} of {info.total_cells} cells saved")
    spec = MatrixSpec(models=info.models, rows=info.rows, template=info.row.template)
    states = {cell: restored_state(r.result, r.tool_calls, None) for r in view.results if (cell := info.cells.get(r.result.id or -1))}
    st.dataframe(summary_rows(summarize(spec, states)), hide_index=True, width="stretch")
