"""Compare: one prompt to 2–6 models at once, each streaming into its own column."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from app.bootstrap import AppContext, context
from app.compare.conversation import (
    EXAMPLE_TOOLS,
    ColumnParams,
    Conversation,
    Turn,
    from_history,
    image_count,
    parse_tools,
    typed_tool_results,
    user_message,
)
from app.compare.model_picker import ModelOption, availability, initial_selection, model_options
from app.compare.runner import CompareRun
from app.settings.scrub import scrubbed_column, scrubbed_messages
from app.ui import history_notice, judge
from app.ui import results as results_ui
from app.ui.common import demo_notice, header, settings_problem, shown_value, system_prompt_area
from app.ui.diff import render_diff_picker

MIN_MODELS, MAX_MODELS = 1, 6
LIVE_REFRESH = 0.3  # seconds between redraws while streams run
THINKING = ["auto", "on", "off"]
EXAMPLE_TOOLS_JSON = json.dumps(EXAMPLE_TOOLS, indent=2)

ctx: AppContext = context()
demo = ctx.settings.demo
options = model_options(ctx.settings.demo_endpoint_ids, demo.describe if demo else None, [m.name for m in demo.models] if demo else ())
by_ref: dict[str, ModelOption] = {o.ref: o for o in options}
state = st.session_state


def _param_key(kind: str, ref: str) -> str:
    return f"param-{kind}::{ref}"


def _thinking_index(ref: str) -> int:
    value = shown_value(_param_key("thinking", ref), "auto")
    return THINKING.index(value) if value in THINKING else 0


def _params(refs: list[str]) -> list[ColumnParams]:
    return [
        ColumnParams(
            temperature=state.get(_param_key("temperature", ref)),
            max_tokens=state.get(_param_key("max_tokens", ref)),
            thinking=state.get(_param_key("thinking", ref)) or "auto",
        )
        for ref in refs
    ]


def _restore(run_id: str) -> None:
    """Reopen a stored run: its models, params, system prompt, tools and each column's conversation."""
    view = ctx.history.get(run_id) if ctx.history else None
    if view is None:
        state["compare_error"] = "That run is no longer in the history."
        return
    conversation, params, tools = from_history(view)
    state["conversation"] = conversation
    state["compare_models"] = list(conversation.refs)
    state["system_prompt"] = conversation.system_prompt
    state["tools_on"] = bool(tools)
    if tools:
        state["tools_json"] = json.dumps(tools, indent=2, ensure_ascii=False)
    for ref, p in zip(conversation.refs, params, strict=False):
        state[_param_key("temperature", ref)] = p.temperature
        state[_param_key("max_tokens", ref)] = p.max_tokens
        state[_param_key("thinking", ref)] = p.thinking


def _start_turn() -> None:
    """Run button: send the prompt to every chosen model (a follow-up when a conversation is open)."""
    state.pop("compare_error", None)
    refs: list[str] = list(state.get("compare_models") or [])
    prompt: str = (state.get("prompt") or "").strip()
    if not MIN_MODELS <= len(refs) <= MAX_MODELS:
        state["compare_error"] = f"Pick {MIN_MODELS} to {MAX_MODELS} models."
        return
    if not prompt:
        state["compare_error"] = "Write a prompt first."
        return
    tools: list[dict[str, Any]] = []
    if state.get("tools_on"):
        try:
            tools = parse_tools(state.get("tools_json", EXAMPLE_TOOLS_JSON) or "")
        except ValueError as exc:
            state["compare_error"] = str(exc)
            return
    conversation: Conversation | None = state.get("conversation")
    if conversation is None or conversation.refs != refs:
        conversation = Conversation(refs=refs)
    if conversation.running:
        return
    conversation.system_prompt = state.get("system_prompt") or ""
    conversation.tool_results.update(typed_tool_results(state))
    uploads = state.get(f"images-{state.get('upload_round', 0)}") or []
    message = user_message(prompt, [(f.type or "image/png", f.getvalue()) for f in uploads])
    requests = conversation.requests(message, _params(refs), tools or None)
    meta = {
        "user_prompt": prompt,
        "system_prompt": conversation.system_prompt,
        "image_count": image_count(message),
        "tools": tools,
        "parent_id": conversation.parent_id,
    }
    run = CompareRun(requests, meta=meta, recorder=ctx.history, scrub=ctx.settings.scrub).start()
    conversation.turns.append(Turn(prompt, message, run))
    state["conversation"] = conversation
    state["prompt"] = ""
    state["upload_round"] = state.get("upload_round", 0) + 1


def _stop() -> None:
    conversation: Conversation | None = state.get("conversation")
    if conversation is not None and conversation.current is not None:
        conversation.current.run.stop()


def _new_comparison() -> None:
    _stop()
    state["conversation"] = None
    state["prompt"] = ""
    state.pop("compare_error", None)


# -- restore from History / defaults -------------------------------------------------------
restore = state.pop("restore_run", None)
if restore:
    _restore(restore)
selection = initial_selection(options, state.get("compare_models"), had_real=state.get("compare_had_real", False))
if selection is not None and not (state.get("conversation") and state["conversation"].running):
    state["compare_models"] = selection
state["compare_had_real"] = any(not o.demo for o in options)

conversation: Conversation | None = state.get("conversation")
locked = bool(conversation and conversation.turns and conversation.refs == state["compare_models"])
running = bool(conversation and conversation.running)

# -- page ----------------------------------------------------------------------------------
header("Compare models", "One prompt, several models, side by side — each streams into its own column at the same time.")
settings_problem(ctx)
history_notice.before_run(ctx)
demo_notice(ctx)
if not options:
    st.warning("No model can be called yet: add an endpoint with a key on **Endpoints & models**.", icon=":material/key:")

choices = [o.ref for o in options] + [r for r in state["compare_models"] if r not in by_ref]


def _label(ref: str) -> str:
    option = by_ref.get(ref)
    return option.label if option else f"{ref} · unavailable"


hide_names = judge.names_hidden(conversation)  # a blind vote is pending: nothing here may name a model
judge.keep_hidden_widgets(hide_names, ["compare_models", *(k for k in state if str(k).startswith("param-"))])

with st.container(border=True, key="compare-setup"):
    judge.blind_toggle()
    if hide_names:
        st.caption(f"Blind comparison of {len(state['compare_models'])} models: names stay hidden until you vote.")
    else:
        st.multiselect(
            "Models",
            choices,
            key="compare_models",
            default=shown_value("compare_models", []),
            format_func=_label,
            max_selections=MAX_MODELS,
            placeholder=f"Choose {MIN_MODELS}–{MAX_MODELS} models",
            help="Models from your settings and the built-in catalogue that have an endpoint. Demo models run offline.",
        )
        st.caption(availability(options))
    refs: list[str] = list(state["compare_models"])
    if locked:
        st.caption("Follow-ups continue each column's own conversation; changing the models starts a new comparison.")
    with st.expander("System prompt, tools and images", icon=":material/tune:"):
        system_prompt_area("system_prompt", height=80)
        st.toggle(
            "Offer tools to the models",
            key="tools_on",
            value=shown_value("tools_on", False),
            help="OpenAI-format tool definitions. Tool calls are shown, never executed: type a result under a call to send it with the follow-up.",
        )
        if state.get("tools_on"):
            st.text_area("Tools (JSON)", key="tools_json", value=shown_value("tools_json", EXAMPLE_TOOLS_JSON), height=180)
        st.file_uploader(
            "Images (sent with the next prompt)",
            type=["png", "jpg", "jpeg", "webp", "gif"],
            accept_multiple_files=True,
            key=f"images-{state.get('upload_round', 0)}",
        )
    if refs and not hide_names:
        st.caption("Per-model parameters")
        with st.container(horizontal=True, gap="small"):
            for ref in refs:
                option = by_ref.get(ref)
                custom = (
                    ColumnParams(
                        temperature=state.get(_param_key("temperature", ref)), max_tokens=state.get(_param_key("max_tokens", ref))
                    ).options()
                    or (state.get(_param_key("thinking", ref)) or "auto") != "auto"
                )
                name = option.name if option else ref
                with st.popover(f"{name} · custom" if custom else name, icon=":material/tune:" if custom else ":material/settings:"):
                    st.number_input(
                        "Temperature",
                        min_value=0.0,
                        max_value=2.0,
                        step=0.1,
                        key=_param_key("temperature", ref),
                        placeholder="model default",
                        value=shown_value(_param_key("temperature", ref)),
                    )
                    st.number_input(
                        "Max output tokens",
                        min_value=1,
                        max_value=1_000_000,
                        step=256,
                        key=_param_key("max_tokens", ref),
                        placeholder="model default",
                        value=shown_value(_param_key("max_tokens", ref)),
                    )
                    st.radio(
                        "Thinking",
                        THINKING,
                        key=_param_key("thinking", ref),
                        index=_thinking_index(ref),
                        horizontal=True,
                        help="auto sends nothing (the model's default); on/off asks reasoning models to think or not.",
                    )
    st.text_area(
        "Prompt",
        key="prompt",
        height=110,
        placeholder="Ask something… e.g. Explain retrieval-augmented generation in three sentences. (Ctrl/⌘+Enter runs)",
        help="Ctrl+Enter (⌘+Enter on a Mac) runs, or sends the follow-up.",
    )
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.button(
            "Run" if not locked else "Send follow-up",
            type="primary",
            icon=":material/play_arrow:",
            on_click=_start_turn,
            disabled=running or len(refs) < MIN_MODELS,
            key="run-button",
        )
        st.button("Stop", icon=":material/stop:", on_click=_stop, disabled=not running, key="stop-button")
        st.button("New comparison", icon=":material/add:", on_click=_new_comparison, disabled=running or not locked, key="new-button")
        if len(refs) < MIN_MODELS:
            st.caption("Pick a model (or up to six, to compare them).")
        elif conversation and conversation.turns:
            st.caption(f"Turn {len(conversation.turns)} · run `{conversation.turns[-1].run.id[:8]}`")

if state.get("compare_error"):
    st.error(state["compare_error"], icon=":material/error:")


def _show_results(conversation: Conversation) -> None:
    turn = conversation.current
    assert turn is not None
    run = turn.run
    history_notice.after_run(ctx, run)
    with st.chat_message("user"):
        st.text(turn.prompt)
        images = image_count(turn.user_message)
        if images:
            st.caption(f":material/image: {images} image{'s' if images != 1 else ''} attached")
    snapshot = [scrubbed_column(column, ctx.settings.scrub) for column in run.snapshot()]
    shown = judge.arrange(conversation, snapshot)
    columns = st.columns(len(shown), gap="small")
    for slot, (column, view) in enumerate(zip(columns, shown, strict=True)):
        option = by_ref.get(conversation.refs[view.index]) if view.index < len(conversation.refs) else None
        with column:
            results_ui.render_column(
                view.state,
                index=slot,
                demo=bool(option and option.demo),
                earlier=scrubbed_messages(view.earlier, ctx.settings.scrub),
                blind=view.blind,
                tool_results=not conversation.running,
            )
    judge.rate_columns(ctx, run, shown, columns)
    if run.finished:
        # screen order and labels: in blind mode the picker names "Model A/B/…", never the models
        render_diff_picker([view.state.model for view in shown], [view.state.content for view in shown], key="compare-diff")


if conversation is not None and conversation.current is not None:
    if running:
        live: Conversation = conversation

        @st.fragment(run_every=LIVE_REFRESH)
        def _live() -> None:
            if not live.running:
                st.rerun()  # the page draws the finished run (buttons and all), once
            _show_results(live)

        _live()
    else:
        _show_results(conversation)
        judge.panel(ctx, conversation)
elif options:
    st.caption("Results appear here, one column per model, as they stream.")
