"""One model's answer as a card: status, metrics, reasoning, tool calls, content, error.

Model output is shown with ``st.markdown`` and never with ``unsafe_allow_html``: raw HTML from
a model is displayed as text, not rendered.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import streamlit as st

from app import formatting as fmt
from app.compare.conversation import message_text, tool_result_key
from app.compare.runner import DONE, ERROR, PARTIAL, STOPPED, STREAMING, WAITING, ColumnState
from app.ui.browser import copy_button
from app.ui.common import md_escape
from app.ui.request_report import request_report_popover

BadgeColor = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray", "primary"]
STATUS: dict[str, tuple[str, BadgeColor, str]] = {
    WAITING: ("Waiting", "gray", ":material/hourglass_top:"),
    STREAMING: ("Streaming", "blue", ":material/stream:"),
    DONE: ("Done", "green", ":material/check_circle:"),
    ERROR: ("Failed", "red", ":material/error:"),
    PARTIAL: ("Partial", "orange", ":material/warning:"),
    STOPPED: ("Stopped", "gray", ":material/stop_circle:"),
    "running": ("Interrupted", "orange", ":material/warning:"),
}


def status_look(status: str) -> tuple[str, BadgeColor, str]:
    """Label, badge colour and icon of a column or history status."""
    return STATUS.get(status) or (status, "gray", ":material/help:")


def metrics_markdown(state: ColumnState, *, simulated: bool = False) -> str:
    """Badges: timing on the first line, tokens and cost on the second (numbers only, no model text).

    ``simulated``: a demo model's made-up cost, labelled so.
    """
    usage = state.usage or {}
    if state.finished:
        speed = [fmt.rate(state.tokens_per_second)] if state.tokens_per_second is not None else []
        timing = [f"TTFT {fmt.seconds(state.ttft)}", *speed, f"total {fmt.seconds(state.total)}"]
    else:
        timing = [f"TTFT {fmt.seconds(state.ttft)}", f"{fmt.seconds(state.elapsed)} so far"]
    about = "≈ " if state.usage_estimated else ""
    tokens = [
        f"{about}in {fmt.tokens(usage.get('prompt_tokens'))}",
        f"{about}out {fmt.tokens(usage.get('completion_tokens'))}",
        f"cached {fmt.tokens(usage.get('cached_tokens'))}",
    ]
    line1 = " ".join(f":gray-badge[{t}]" for t in timing)
    cost = f":violet-badge[{about}{fmt.cost(state.cost)} simulated]" if simulated else f":green-badge[{about}{fmt.cost(state.cost)}]"
    line2 = " ".join(f":blue-badge[{t}]" for t in tokens) + " " + cost
    if state.cost_source:
        line2 += f" :gray[prices: {md_escape(state.cost_source)}]"
    if state.usage_estimated:
        line2 += " :gray[estimated]"
    return line1.replace("$", r"\$") + "  \n" + line2.replace("$", r"\$")


def _tool_calls(calls: list[dict[str, Any]], column: int, answerable: bool) -> None:
    st.caption(
        ":material/info: Not executed — the playground shows tool calls but never runs them."
        + (" Type a result below to send with your follow-up; left empty, the model is told none is available." if answerable else "")
    )
    for call in calls:
        function = call.get("function") or {}
        st.markdown(f":material/build: Tool call **{md_escape(str(function.get('name') or '?'))}**")
        arguments = function.get("arguments") or ""
        try:
            arguments = json.dumps(json.loads(arguments), ensure_ascii=False, indent=2)
        except ValueError:
            pass
        st.code(arguments or "{}", language="json", wrap_lines=True)
        if answerable and call.get("id"):
            st.text_area(
                f"Result of {function.get('name') or 'the tool'} (sent with the follow-up)",
                key=tool_result_key(column, str(call["id"])),
                height=68,
                placeholder='e.g. {"temperature_c": 18, "sky": "clear"}',
            )


def _earlier(messages: list[dict[str, Any]]) -> None:
    shown = [m for m in messages if m.get("role") in ("user", "assistant")]
    if not shown:
        return
    with st.expander(f"Earlier in this conversation ({len(shown)} messages)", icon=":material/forum:"):
        for message in shown:
            who = "**You**" if message.get("role") == "user" else "**Model**"
            st.markdown(who)
            st.markdown(message_text(message) or "_(tool call only)_")


def render_column(
    state: ColumnState,
    *,
    index: int,
    demo: bool = False,
    earlier: list[dict[str, Any]] | None = None,
    key_prefix: str = "result",
    blind: bool = False,
    tool_results: bool = False,
) -> None:
    """Draw one column's card (``st-key-{key_prefix}-{index}`` is its stable CSS handle).

    ``blind``: a blind-mode card (``state`` already masked): no backend or demo badge, no metrics.
    ``tool_results``: offer a box per tool call for the result to send with the follow-up.
    """
    label, color, icon = status_look(state.status)
    with st.container(border=True, key=f"{key_prefix}-{index}"):
        st.markdown(f"### {md_escape(state.model)}")
        with st.container(horizontal=True, gap="small"):
            st.badge(label, color=color, icon=icon)
            if not blind:
                st.badge(state.backend, color="gray")
            if demo and not blind:
                st.badge("demo", color="violet", icon=":material/science:")
            if state.params:
                st.badge("custom parameters", color="blue", icon=":material/tune:")
        if state.params:
            st.caption(f"Parameters: {md_escape(fmt.params(state.params))}")
        if not blind:
            st.markdown(metrics_markdown(state, simulated=demo))
        if earlier:
            _earlier(earlier)
        if state.reasoning:
            with st.expander("Reasoning", icon=":material/psychology:", expanded=False):
                st.markdown(state.reasoning)
        if state.content:
            cursor = " ▍" if state.status == STREAMING else ""
            st.markdown(state.content + cursor)
        elif state.status in (WAITING, STREAMING):
            st.caption("Waiting for the first token…" if state.status == WAITING else "Thinking…")
        if state.content and state.finished:
            copy_button(state.content, "Copy answer", title="Copy the whole answer as Markdown")
        if state.tool_calls:
            _tool_calls(state.tool_calls, index, tool_results and state.status == DONE)
        if state.status == ERROR:
            st.error(f"**{md_escape(state.error_type or 'Error')}** — {md_escape(state.error_message or '')}", icon=":material/error:")
        elif state.status == PARTIAL:
            st.warning(
                f"**Partial answer** — the stream broke after the text above arrived. "
                f"`{md_escape(state.error_type or '')}`: {md_escape(state.error_message or '')}",
                icon=":material/warning:",
            )
        elif state.status == STOPPED:
            st.info("**Stopped** — the text above is what arrived before you pressed Stop.", icon=":material/stop_circle:")
        elif state.status == "running":
            st.warning("Interrupted — this stream never finished.", icon=":material/warning:")
        if state.endpoint_id and state.finished:
            st.caption(f"via endpoint `{state.endpoint_id}`" + (f" · finish: {state.finish_reason}" if state.finish_reason else ""))
        if not blind:
            request_report_popover(state.request_report if state.finished else None)
