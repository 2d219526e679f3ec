"""Prompt sets & matrix: a set of prompts (a template with {{variables}} and rows) across several models."""

from __future__ import annotations

import json
from typing import Literal

import pandas as pd
import streamlit as st

from app import formatting as fmt
from app.bootstrap import AppContext, context
from app.compare.cost_guard import CostEstimate
from app.compare.matrix import (
    MAX_CONCURRENCY,
    SORTS,
    MatrixRun,
    MatrixSpec,
    active_run,
    default_concurrency,
    estimate,
    matching_cells,
    order_cells,
    summarize,
)
from app.compare.model_picker import ModelOption, model_options
from app.compare.prompt_sets import (
    PLAIN_COLUMN,
    PromptSetError,
    apply_editor_changes,
    effective_template,
    load_for_template,
    remap_rows,
    template_variables,
    to_csv,
    validate,
)
from app.history.matrix_store import MatrixStore, matrix_store
from app.ui import matrix as matrix_ui
from app.ui.common import demo_notice, header, md_escape, settings_problem, shown_value, system_prompt_area
from vv_llm.settings import settings

BadgeColor = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray", "grey", "primary"]
"""The colours ``st.badge`` takes."""

LIVE_REFRESH = 0.5  # seconds between redraws while a matrix runs
PAGE_ROWS = 25
DEFAULT_MAX_TOKENS = 512
STATUSES = ["done", "partial", "error", "stopped", "streaming", "waiting", "running"]

ctx: AppContext = context()
state = st.session_state
header(
    "Prompt sets & matrix",
    "Many prompts × several models: a template with {{variables}}, a cost guard before sending, and diffs between answers.",
)
settings_problem(ctx)
demo_notice(ctx)
if ctx.history is None:
    st.error(ctx.history_problem or "History is unavailable, so prompt sets and matrix runs cannot be saved.", icon=":material/database:")
    st.stop()
store: MatrixStore = matrix_store(ctx.history)
demo = ctx.settings.demo
options = model_options(ctx.settings.demo_endpoint_ids, demo.describe if demo else None, [m.name for m in demo.models] if demo else ())
by_ref: dict[str, ModelOption] = {o.ref: o for o in options}


# -- the set being edited ------------------------------------------------------------------
def _columns(template: str) -> list[str]:
    return template_variables(effective_template(template))


def _editor_key() -> str:
    return f"set_editor-{state.get('set_version', 0)}"


def _rows() -> list[dict[str, str]]:
    """The editor's rows as they are now (its base rows with the user's edits)."""
    columns = state.get("set_columns") or [PLAIN_COLUMN]
    return apply_editor_changes(state.get("set_rows") or [], state.get(_editor_key()), columns)


def _reset_editor(rows: list[dict[str, str]], columns: list[str]) -> None:
    state["set_rows"] = rows
    state["set_columns"] = columns
    state["set_version"] = state.get("set_version", 0) + 1


def _template_changed() -> None:
    rows = _rows()
    columns = _columns(state.get("set_template") or "") or state.get("set_columns") or [PLAIN_COLUMN]
    if columns != state.get("set_columns"):
        _reset_editor(remap_rows(rows, columns), columns)


def _uploaded() -> None:
    file = state.get("set_upload")
    if file is None:
        return
    try:
        parsed = load_for_template(file.name, file.getvalue(), state.get("set_template") or "")
    except PromptSetError as exc:
        state["set_upload_problems"] = (file.name, exc.problems)
        return
    state.pop("set_upload_problems", None)
    _reset_editor(parsed.rows, parsed.columns)
    state["set_notice"] = f"Loaded {len(parsed.rows)} row{'s' if len(parsed.rows) != 1 else ''} from {file.name}."


def _new_set() -> None:
    state["set_id"] = None
    state["set_name"] = ""
    state["set_template"] = ""
    state["set_system"] = ""
    state.pop("set_upload_problems", None)
    _reset_editor([], [PLAIN_COLUMN])


def _open_set() -> None:
    chosen = state.get("set_choice")
    row = store.get_set(chosen) if chosen is not None else None
    if row is None:
        state["set_error"] = "That prompt set no longer exists."
        return
    state["set_id"] = row.id
    state["set_name"] = row.name
    state["set_template"] = row.template
    state["set_system"] = row.system_prompt or ""
    state.pop("set_upload_problems", None)
    _reset_editor(json.loads(row.rows), json.loads(row.columns) or [PLAIN_COLUMN])
    state["set_notice"] = f"Opened “{row.name}”."


def _save_set(as_new: bool) -> None:
    try:
        row = store.save_set(
            state.get("set_name") or "",
            state.get("set_template") or "",
            state.get("set_system") or "",
            state.get("set_columns") or [PLAIN_COLUMN],
            _rows(),
            set_id=None if as_new else state.get("set_id"),
        )
    except ValueError as exc:
        state["set_error"] = str(exc)
        return
    state["set_id"] = row.id
    state["set_choice"] = row.id
    state["set_notice"] = f"Saved “{row.name}”."


def _delete_set() -> None:
    chosen = state.get("set_choice")
    if chosen is not None and store.delete_set(chosen):
        state["set_notice"] = "Deleted the prompt set (matrix runs made from it stay in History)."
        if state.get("set_id") == chosen:
            state["set_id"] = None
        state["set_choice"] = None


# -- runs ------------------------------------------------------------------------------------
def _spec(rows: list[dict[str, str]]) -> MatrixSpec:
    return MatrixSpec(
        models=list(state.get("matrix_models") or []),
        rows=rows,
        template=state.get("set_template") or "",
        columns=list(state.get("set_columns") or [PLAIN_COLUMN]),
        system_prompt=state.get("set_system") or "",
        temperature=state.get("matrix_temperature"),
        max_tokens=state.get("matrix_max_tokens", DEFAULT_MAX_TOKENS),
        concurrency=int(state.get("matrix_concurrency") or default_concurrency()),
        name=state.get("set_name") or "",
        prompt_set_id=state.get("set_id"),
        budget_usd=state.get("matrix_budget"),
    )


def _estimate(spec: MatrixSpec) -> CostEstimate:
    """The cost guard's estimate, counted once per set/models/max tokens/settings (reruns reuse it)."""
    signature = json.dumps(
        [spec.models, spec.template, spec.system_prompt, spec.rows, spec.max_tokens, settings.generation], ensure_ascii=False
    )
    cached = state.get("matrix_estimate")
    if cached is None or cached[0] != signature:
        cached = (signature, estimate(spec))
        state["matrix_estimate"] = cached
    return cached[1]


def _start() -> None:
    state.pop("matrix_error", None)
    current: MatrixRun | None = state.get("matrix_run")
    if current is not None and current.running:
        return
    rows = _rows()
    problems = validate(state.get("set_template") or "", state.get("set_columns") or [PLAIN_COLUMN], rows)
    if problems:
        state["matrix_error"] = "Nothing was sent — fix the prompt set first:\n\n" + "\n".join(f"- {md_escape(p)}" for p in problems[:10])
        return
    spec = _spec(rows)
    if not spec.models:
        state["matrix_error"] = "Pick at least one model."
        return
    guess = _estimate(spec)
    if guess.over_budget(spec.budget_usd) and not state.get("matrix_confirm"):
        state["matrix_error"] = "Nothing was sent: the estimate is over your budget. Tick **Run anyway** to confirm."
        return
    spec.estimate_usd = guess.upper_cost
    state["matrix_run"] = MatrixRun(spec, recorder=store, scrub=ctx.settings.scrub).start()
    state["matrix_confirm"] = False
    state["matrix_limit"] = PAGE_ROWS


def _stop() -> None:
    run: MatrixRun | None = state.get("matrix_run")
    if run is not None:
        run.stop()


def _resume() -> None:
    run: MatrixRun | None = state.get("matrix_run")
    if run is None or run.running:
        return
    stored = store.load(run.id)
    if stored is None:
        state["matrix_error"] = "That run is no longer in the history."
        return
    stored.spec.concurrency = int(state.get("matrix_concurrency") or stored.spec.concurrency)
    resumed = MatrixRun(
        stored.spec,
        run_id=run.id,
        saved=stored.cells,
        recorder=store,
        scrub=ctx.settings.scrub,
        retry_failed=bool(state.get("matrix_retry")),
    )
    if not resumed.sending:
        state["matrix_error"] = "Every cell already has its answer: nothing to resume."
        return
    budget = state.get("matrix_budget")
    if estimate(stored.spec, resumed.sending).over_budget(budget) and not state.get("matrix_confirm"):
        state["matrix_error"] = (
            f"Nothing was sent: the {len(resumed.sending)} missing cells may cost more than your budget of {fmt.cost(budget)}."
            " Tick **Run anyway** under the estimate, or raise the budget."
        ).replace("$", r"\$")
        return
    state["matrix_confirm"] = False
    state["matrix_run"] = resumed.start()


def _open_run(run_id: str) -> None:
    run = active_run(run_id)
    if run is None:
        stored = store.load(run_id)
        if stored is None:
            state["matrix_error"] = "That matrix run is no longer in the history."
            return
        run = MatrixRun(stored.spec, run_id=run_id, saved=stored.cells, status=stored.status)
    state["matrix_run"] = run
    state["matrix_limit"] = PAGE_ROWS
    spec = run.spec
    state["set_template"] = spec.template
    state["set_system"] = spec.system_prompt
    state["set_name"] = spec.name
    state["set_id"] = spec.prompt_set_id
    state["matrix_models"] = list(spec.models)
    _reset_editor(spec.rows, spec.columns or [PLAIN_COLUMN])


opening = state.pop("open_matrix", None)
if opening:
    _open_run(opening)
if "matrix_models" not in state:
    demo_refs = [o.ref for o in options if o.demo][:2]
    state["matrix_models"] = demo_refs or [o.ref for o in options if o.configured][:2]
if "set_columns" not in state:
    _reset_editor([], _columns(state.get("set_template") or "") or [PLAIN_COLUMN])

# -- page: the prompt set --------------------------------------------------------------------
with st.container(border=True, key="matrix-set"):
    st.subheader("Prompt set", anchor=False)
    saved = store.list_sets()
    names = {row.id: row.name for row in saved}
    if state.get("set_choice") not in names:
        state["set_choice"] = None
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        st.selectbox(
            "Saved sets", [None, *names], key="set_choice", format_func=lambda i: "—" if i is None else names.get(i, "?"), width=320
        )
        st.button("Open", icon=":material/folder_open:", on_click=_open_set, disabled=state.get("set_choice") is None, key="set-open")
        with st.popover("Delete", icon=":material/delete:", disabled=state.get("set_choice") is None):
            st.write("Delete this prompt set?")
            st.button("Yes, delete", type="primary", on_click=_delete_set, key="set-delete")
        st.button("New set", icon=":material/add:", on_click=_new_set, key="set-new")
    st.text_input("Name", key="set_name", value=shown_value("set_name", ""), placeholder="e.g. Capitals quiz")
    st.text_area(
        "Prompt template",
        key="set_template",
        value=shown_value("set_template", ""),
        height=90,
        on_change=_template_changed,
        placeholder="Explain {{topic}} to a {{audience}} in two sentences.   (leave empty: each row is a whole prompt)",
        help="Each {{name}} is a variable: the table below gets one column per variable, one row per prompt.",
    )
    with st.expander("System prompt", icon=":material/tune:"):
        system_prompt_area("set_system", height=70, show_label=False)
    columns: list[str] = list(state.get("set_columns") or [PLAIN_COLUMN])
    st.file_uploader(
        "Upload prompts: CSV (a header row names the variables), JSONL (one object per line) or text (one prompt per line)",
        type=["csv", "jsonl", "ndjson", "txt"],
        key="set_upload",
        on_change=_uploaded,
    )
    if state.get("set_upload_problems"):
        name, problems = state["set_upload_problems"]
        listed = "\n".join(f"- {md_escape(p)}" for p in problems[:20]) + (
            f"\n- … and {len(problems) - 20} more" if len(problems) > 20 else ""
        )
        st.error(f"**{md_escape(name)}** was not loaded (nothing changed):\n\n{listed}", icon=":material/error:")
    if state.get("set_notice"):
        st.success(state.pop("set_notice"), icon=":material/check:")
    if state.get("set_error"):
        st.error(state.pop("set_error"), icon=":material/error:")
    st.data_editor(
        pd.DataFrame(state.get("set_rows") or [], columns=columns, dtype="string"),
        key=_editor_key(),
        num_rows="dynamic",
        width="stretch",
        hide_index=False,
        column_config={c: st.column_config.TextColumn(c, width="large") for c in columns},
    )
    rows = _rows()
    problems = validate(state.get("set_template") or "", columns, rows)
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.button("Save set", icon=":material/save:", on_click=_save_set, args=(False,), key="set-save")
        st.button(
            "Save as new",
            icon=":material/library_add:",
            on_click=_save_set,
            args=(True,),
            key="set-save-new",
            disabled=state.get("set_id") is None,
        )
        st.download_button(
            "Download CSV",
            data=to_csv(columns, rows),
            file_name="prompt-set.csv",
            mime="text/csv",
            on_click="ignore",
            disabled=not rows,
            key="set-csv",
        )
        st.caption(f"{len(rows)} prompt{'s' if len(rows) != 1 else ''} · variables: {', '.join(columns) or '—'}")
    if problems and rows:
        st.warning("This set cannot run yet:\n\n" + "\n".join(f"- {md_escape(p)}" for p in problems[:10]), icon=":material/warning:")

# -- page: models, cost guard, run -----------------------------------------------------------
current: MatrixRun | None = state.get("matrix_run")
running = bool(current and current.running)
with st.container(border=True, key="matrix-setup"):
    st.subheader("Models and cost guard", anchor=False)
    choices = [o.ref for o in options] + [r for r in state["matrix_models"] if r not in by_ref]
    st.multiselect(
        "Models",
        choices,
        key="matrix_models",
        default=shown_value("matrix_models", []),
        format_func=lambda ref: by_ref[ref].label if ref in by_ref else f"{ref} · unavailable",
        placeholder="Choose the models (one matrix column each)",
    )
    c1, c2, c3, c4 = st.columns(4)
    c1.number_input(
        "Max output tokens",
        min_value=1,
        max_value=1_000_000,
        step=128,
        key="matrix_max_tokens",
        value=shown_value("matrix_max_tokens", DEFAULT_MAX_TOKENS),
        help="Bounds the cost estimate too.",
    )
    c2.number_input(
        "Temperature",
        min_value=0.0,
        max_value=2.0,
        step=0.1,
        key="matrix_temperature",
        value=shown_value("matrix_temperature"),
        placeholder="model default",
    )
    c3.number_input(
        "Concurrency (per model)",
        min_value=1,
        max_value=MAX_CONCURRENCY,
        step=1,
        key="matrix_concurrency",
        value=shown_value("matrix_concurrency", default_concurrency()),
        help="At most this many cells of each model in flight at once (default `VV_LLM_MATRIX_CONCURRENCY` or 4). Each endpoint's own RPM/TPM limits still apply.",
    )
    c4.number_input(
        "Budget (USD)",
        min_value=0.0,
        step=0.5,
        format="%.4f",
        key="matrix_budget",
        value=shown_value("matrix_budget"),
        placeholder="no budget",
    )
    spec = _spec(rows)
    guess = None
    if spec.models and rows and not problems:
        guess = _estimate(spec)
        st.dataframe(matrix_ui.estimate_rows(guess), hide_index=True, width="stretch", key="matrix-estimate")
        upper = guess.upper_cost
        total = (
            fmt.cost(upper)
            if upper is not None
            else f"unknown (at least {fmt.cost(guess.known_upper_cost)}; no price or bound for {', '.join(guess.unknown)})"
        )
        st.markdown(
            f"**Estimated cost: at most {total}** for {spec.cell_count} cells "
            f"(input {fmt.cost(guess.input_cost)}; output bounded by max tokens).".replace("$", r"\$")
        )
        if guess.over_budget(spec.budget_usd):
            st.warning(
                f"Over budget: the upper bound is above your budget of {fmt.cost(spec.budget_usd)}. The run will not start unless you confirm.".replace(
                    "$", r"\$"
                ),
                icon=":material/savings:",
            )
            st.checkbox("Run anyway (I accept the cost above my budget)", key="matrix_confirm")
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        blocked = bool(guess and guess.over_budget(spec.budget_usd) and not state.get("matrix_confirm"))
        st.button(
            f"Run {spec.cell_count} cells" if spec.cell_count else "Run",
            type="primary",
            icon=":material/play_arrow:",
            on_click=_start,
            disabled=running or not spec.models or not rows or bool(problems) or blocked,
            key="matrix-run-button",
        )
        if blocked:
            st.caption("Over budget — confirm above to run.")
if state.get("matrix_error"):
    st.error(state["matrix_error"], icon=":material/error:")


# -- page: the matrix --------------------------------------------------------------------------
def _show(run: MatrixRun) -> None:
    spec = run.spec
    states = run.cells()
    live = run.running
    status = run.status
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.markdown(f"#### {md_escape(spec.title())}")
        label: dict[str, tuple[str, BadgeColor]] = {
            "running": ("Running", "blue"),
            "done": ("Done", "green"),
            "stopped": ("Stopped", "gray"),
            "interrupted": ("Interrupted", "orange"),
        }
        text, color = label.get(status, (status, "gray"))
        st.badge(text, color=color)
        st.caption(f"run `{run.id[:8]}` · concurrency {spec.concurrency}")
    matrix_ui.render_progress(run.progress(), live)
    if run.run.history_error:
        st.warning(run.run.history_error, icon=":material/database:")
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.button("Stop", icon=":material/stop:", on_click=_stop, disabled=not live, key="matrix-stop")
        resumable = run.resumable
        st.button(
            "Resume",
            icon=":material/replay:",
            on_click=_resume,
            disabled=live or not (resumable or state.get("matrix_retry")),
            key="matrix-resume",
        )
        st.checkbox("Resend failed cells too", key="matrix_retry", disabled=live)
        if status == "interrupted":
            st.caption("The playground stopped while this run was going: finished cells are kept; Resume sends only the missing ones.")
    st.dataframe(matrix_ui.summary_rows(summarize(spec, states)), hide_index=True, width="stretch", key="matrix-summary")
    f1, f2, f3, f4 = st.columns([3, 3, 3, 2])
    model_filter = f1.multiselect(
        "Show models",
        list(range(len(spec.models))),
        format_func=lambda m: spec.models[m],
        key="matrix_filter_models",
        placeholder="All models",
    )
    status_filter = f2.multiselect("Status", STATUSES, key="matrix_filter_status", placeholder="Any status")
    text_filter = f3.text_input("Search prompts and answers", key="matrix_filter_text", icon=":material/search:")
    sort = f4.selectbox("Sort rows", SORTS, key="matrix_sort")
    models = model_filter or list(range(len(spec.models)))
    cells = matching_cells(spec, states, models=models, statuses=status_filter or None, text=text_filter or "")
    cells = order_cells(states, cells, sort)
    limit = int(state.get("matrix_limit", PAGE_ROWS))
    with st.container(key="matrix-grid"):
        matched = matrix_ui.render_grid(spec, states, cells, models, limit=limit)
    if matched > limit:
        st.button(
            f"Show more rows ({matched - limit} hidden)",
            on_click=lambda: state.__setitem__("matrix_limit", limit + PAGE_ROWS),
            key="matrix-more",
        )
    elif not matched:
        st.caption("No cell matches the filters.")
    with st.expander("Diff two answers of a row", icon=":material/difference:", expanded=False, key="matrix-diff-box"):
        matrix_ui.render_row_diff(spec, states)


shown: MatrixRun | None = state.get("matrix_run")
if shown is not None:
    if shown.running:
        watched: MatrixRun = shown

        @st.fragment(run_every=LIVE_REFRESH)
        def _live() -> None:
            if not watched.running:
                st.rerun()  # the page draws the finished run (buttons and all), once
            _show(watched)

        _live()
    else:
        _show(shown)
else:
    recent = store.recent_runs(5)
    if recent:
        st.caption("Recent matrix runs (open them from **History**): " + ", ".join(f"{md_escape(r.title)}" for _m, r in recent))
