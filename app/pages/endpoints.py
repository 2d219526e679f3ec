"""Endpoints & models: edit the settings, validated by the engine's own rules, saved atomically (0600)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from app import formatting as fmt
from app.bootstrap import AppContext, context
from app.compare.model_picker import model_options
from app.settings.connection_check import check_endpoint
from app.settings.draft import best_slot, merge_import, models_using, parse_import, ref_id, rename_endpoint_refs
from app.settings.file import mask_secret, redact, secret_values, validate
from app.settings.scrub import Scrubber
from app.ui.common import header, md_escape
from app.ui.settings_forms import Slots, endpoint_form, model_form, shown_endpoint
from vv_llm.errors import SettingsError
from vv_llm.settings import settings as engine_settings
from vv_llm.types import BackendType

ctx: AppContext = context()
state = st.session_state
BACKENDS = [b.value for b in BackendType]


# -- the draft being edited ----------------------------------------------------------------
def _shape(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy the editor can draw: endpoints a list of objects, backends objects of objects."""
    draft = copy.deepcopy(data)
    dropped = []
    endpoints = draft.get("endpoints")
    if endpoints is not None and not isinstance(endpoints, list):
        dropped.append("endpoints (not a list)")
        endpoints = []
    draft["endpoints"] = [e for e in endpoints or [] if isinstance(e, dict)]
    if endpoints and len(draft["endpoints"]) != len(endpoints):
        dropped.append("endpoints that are not objects")
    backends = draft.get("backends")
    if backends is not None and not isinstance(backends, dict):
        dropped.append("backends (not an object)")
        backends = {}
    draft["backends"] = {k: v for k, v in (backends or {}).items() if isinstance(v, dict)}
    for backend in draft["backends"].values():
        if not isinstance(backend.get("models", {}), dict):
            backend["models"] = {}
            dropped.append("a backend's models (not an object)")
        backend["models"] = {k: v for k, v in (backend.get("models") or {}).items() if isinstance(v, dict)}
    draft.setdefault("VERSION", "2")
    return draft, dropped


def _load_draft(data: dict[str, Any], *, base: dict[str, Any] | None = None) -> None:
    draft, dropped = _shape(data)
    state["draft"] = draft
    state["draft_base"] = copy.deepcopy(_shape(base if base is not None else data)[0])
    state["draft_uids"] = [uuid.uuid4().hex[:8] for _ in draft["endpoints"]]
    state["draft_version"] = state.get("draft_version", 0) + 1
    if dropped:
        state["editor_notice"] = ("warning", "Some parts of the settings could not be shown in the editor: " + ", ".join(dropped))


loaded = ctx.settings.loaded
if state.get("draft_source") is not loaded:
    if "draft" not in state or state.get("draft") == state.get("draft_base"):
        _load_draft(loaded.data)
    state["draft_source"] = loaded
draft: dict[str, Any] = state["draft"]
uids: list[str] = state["draft_uids"]
version: int = state["draft_version"]


def _catalogue(backend: str) -> list[str]:
    """The built-in catalogue's models of ``backend`` (not the ones any settings add, demo included)."""
    if backend not in BACKENDS:
        return []
    running = engine_settings.model.backends.get(backend)
    configured = set(running.models) if running else set()
    return [m for m in engine_settings.known_models(backend) if m not in configured]


def _keys(prefix: str) -> Callable[[str], str]:
    """Widget keys of one form: ``{prefix}-{field}``."""
    return lambda field: f"{prefix}-{field}"


def _revert() -> None:
    _load_draft(ctx.settings.loaded.data)


def _add_endpoint(backend: str) -> None:
    d = state["draft"]
    taken = {e.get("id") for e in d["endpoints"]}
    stem = f"{backend}-default" if backend != "custom" else "endpoint"
    new_id, n = stem, 2
    while new_id in taken:
        new_id, n = f"{stem}-{n}", n + 1
    d["endpoints"].append({"id": new_id})
    state["draft_uids"].append(uuid.uuid4().hex[:8])
    if backend != "custom":
        refs = d["backends"].setdefault(backend, {"models": {}}).setdefault("endpoints", [])
        refs.append(new_id)
        picker = f"v{state['draft_version']}-be-{backend}-endpoints"
        if picker in state:
            state[picker] = [*state[picker], new_id]
    state["editor_notice"] = (
        "info",
        f"Added endpoint `{new_id}`" + (f", used by every **{backend}** model." if backend != "custom" else "."),
    )


def _ref_widgets() -> list[str]:
    """Session-state keys of every endpoint-reference multiselect currently drawn."""
    prefix = f"v{state['draft_version']}-be-"
    return [k for k in state if isinstance(k, str) and k.startswith(prefix) and k.endswith("-endpoints")]


def _replace_ref(old: str, new: str | None) -> None:
    """Rename (or drop, when ``new`` is None) an endpoint id in the draft and in reference pickers."""
    d = state["draft"]
    if new is None:
        for backend in d["backends"].values():
            if backend.get("endpoints"):
                backend["endpoints"] = [r for r in backend["endpoints"] if ref_id(r) != old]
            for model in (backend.get("models") or {}).values():
                if model.get("endpoints"):
                    model["endpoints"] = [r for r in model["endpoints"] if ref_id(r) != old]
    else:
        rename_endpoint_refs(d, old, new)
    for widget in _ref_widgets():
        values = list(state[widget] or [])
        if old in values:
            state[widget] = [v for v in values if v != old] if new is None else [new if v == old else v for v in values]


def _delete_endpoint(uid: str) -> None:
    d = state["draft"]
    index = state["draft_uids"].index(uid)
    old = str(d["endpoints"][index].get("id") or "")
    del d["endpoints"][index]
    del state["draft_uids"][index]
    if old and old not in [e.get("id") for e in d["endpoints"]]:
        _replace_ref(old, None)
    state["editor_notice"] = ("info", f"Deleted endpoint `{old}` (not saved yet).")


def _remove_model(backend: str, name: str) -> None:
    state["draft"]["backends"].get(backend, {}).get("models", {}).pop(name, None)


def _add_model(backend: str) -> None:
    name = (state.get(f"v{version}-new-model-{backend}") or "").strip() or (state.get(f"v{version}-cat-model-{backend}") or "")
    if not name:
        return
    models = state["draft"]["backends"].setdefault(backend, {}).setdefault("models", {})
    models.setdefault(name, {})
    state[f"v{version}-new-model-{backend}"] = ""


# -- page ----------------------------------------------------------------------------------
header(
    "Endpoints & models",
    f"Where requests go and which models exist — checked by vv-llm's own settings rules and saved to `{fmt.home_relative(ctx.settings.path)}` (owner-only, 0600).",
)
if ctx.demo_only:
    st.info(
        "**Demo mode is on**: the demo models are not part of your settings and are not shown here. "
        "Add an endpoint with a key (e.g. *Add endpoint → openai*), save, and your real models appear on Compare "
        "(the demo models stay selectable next to them, labelled *demo*).",
        icon=":material/science:",
    )
if ctx.settings.loaded.problem:
    st.error(f"Your settings file could not be read ({ctx.settings.loaded.problem}). Saving here replaces it.", icon=":material/error:")
notice = state.pop("editor_notice", None)
if notice:
    getattr(st, notice[0])(notice[1])

with st.container(border=True, key="settings-savebar"):
    status_slot = st.empty()
    with st.container(horizontal=True, gap="small"):
        save_clicked = st.button("Save", type="primary", icon=":material/save:", key="save-settings")
        st.button("Revert changes", icon=":material/undo:", on_click=_revert, key="revert-settings")

slots: Slots = {}
tests: list[tuple[int, tuple[str, str | None]]] = []
endpoints_tab, models_tab, io_tab = st.tabs(
    [":material/hub: Endpoints", ":material/deployed_code: Backends & models", ":material/import_export: Import / export"]
)

with endpoints_tab:
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        provider = st.selectbox(
            "Provider",
            ["custom", *BACKENDS],
            index=1,
            key="add-endpoint-provider",
            width=260,
            help=(
                "**openai**, **anthropic**, **deepseek**, …: that provider's own API — every model of its built-in "
                "catalogue can use the endpoint (base URL optional).  \n"
                "**local**: any OpenAI-compatible server you run (vLLM, Ollama, llama.cpp, LM Studio, "
                "`python -m vv_llm.testing`); give its base URL, usually ending in `/v1`.  \n"
                "**custom**: an endpoint not tied to a backend yet (e.g. a proxy); choose which backends use it "
                "on *Backends & models*."
            ),
        )
        st.button("Add endpoint", icon=":material/add:", on_click=lambda: _add_endpoint(state["add-endpoint-provider"]), key="add-endpoint")
    if not draft["endpoints"]:
        st.caption("No endpoints yet. Pick a provider and **Add endpoint**, paste its key, then **Save**.")
    for i, (endpoint, uid) in enumerate(zip(list(draft["endpoints"]), uids, strict=False)):
        endpoint_id = str(endpoint.get("id") or "")
        users = models_using(draft, endpoint_id)
        choices = {f"{b} · {m or 'default model'}": (b, m) for b, m in users}
        if not choices:
            guess = next((b for b in BACKENDS if endpoint_id.startswith(b)), "openai")
            choices = {f"{b} · default model": (b, None) for b in [guess, *[x for x in BACKENDS if x != guess]]}
        shown = shown_endpoint(endpoint, _keys(f"v{version}-ep-{uid}"))
        host = urlsplit(str(shown.get("api_base") or "")).netloc or "default URL"
        key_label = f"key {mask_secret(shown.get('api_key'))}" if shown.get("api_key") else "no key"
        label = f"**{md_escape(str(shown.get('id') or '(no id)'))}** · {md_escape(host)} · {key_label}"
        with st.expander(label, expanded=not endpoint.get("api_key"), key=f"v{version}-ep-{uid}-box"):
            new, test_choice = endpoint_form(
                endpoint,
                i,
                _keys(f"v{version}-ep-{uid}"),
                slots,
                list(choices),
                partial(_delete_endpoint, uid),
                backends=[b for b, _ in choices.values()][: len(users) or 1],
            )
        new_id = str(new.get("id") or "")
        if endpoint_id and new_id and new_id != endpoint_id:
            _replace_ref(endpoint_id, new_id)  # the pickers on the next tab are drawn later in this run
        draft["endpoints"][i] = new
        if test_choice is not None:
            tests.append((i, choices[test_choice]))

with models_tab:
    endpoint_ids = [str(e.get("id")) for e in draft["endpoints"] if e.get("id")]
    configured = [b for b in BACKENDS if draft["backends"].get(b)]
    order = configured + [b for b in BACKENDS if b not in configured]
    extra = [b for b in draft["backends"] if b not in BACKENDS]  # invalid names: shown so they can be removed

    def _backend_label(b: str) -> str:
        models = draft["backends"].get(b, {}).get("models") or {}
        return f"{b} — {len(models)} model(s)" if b in draft["backends"] else b

    backend = st.selectbox("Backend", order + extra, format_func=_backend_label, key="editor-backend", width=360)
    built_in = [m for m in _catalogue(backend) if m not in (draft["backends"].get(backend, {}).get("models") or {})]
    if built_in:
        catalogue_names = ", ".join(built_in[:8]) + (f" and {len(built_in) - 8} more" if len(built_in) > 8 else "")
        st.caption(f"Built-in catalogue for {backend}: {catalogue_names} — usable with the endpoints below, no need to list them.")
    existing = draft["backends"].get(backend)
    bset: dict[str, Any] = copy.deepcopy(existing) if existing is not None else {}
    bkey = f"v{version}-be-{backend}"
    current = [r if isinstance(r, str) else str(r.get("endpoint_id")) for r in bset.get("endpoints") or []]
    chosen = st.multiselect(
        "Endpoints for all of this backend's models",
        list(dict.fromkeys(endpoint_ids + current)),
        key=f"{bkey}-endpoints",
        default=None if f"{bkey}-endpoints" in state else current,
        help="Used by every model of this backend that lists no endpoints of its own — including the built-in catalogue's models.",
    )
    slots[f"backends.{backend}.endpoints"] = st.empty()
    keep = {(r if isinstance(r, str) else r.get("endpoint_id")): r for r in bset.get("endpoints") or []}
    if chosen:
        bset["endpoints"] = [keep.get(c, c) for c in chosen]
    else:
        bset.pop("endpoints", None)
    slots[f"backends.{backend}"] = st.empty()
    models = dict(bset.get("models") or {})
    if not models:
        st.caption("No models configured for this backend: its catalogue models are used with the endpoints above.")
    for name, model in list(models.items()):
        with st.expander(f"**{md_escape(name)}**", key=f"{bkey}-m-{name}-box"):
            models[name] = model_form(
                backend,
                name,
                model,
                _keys(f"{bkey}-m-{name}"),
                slots,
                endpoint_ids,
                partial(_remove_model, backend, name),
            )
    if models or "models" in bset:
        bset["models"] = models
    if existing is not None or bset:
        draft["backends"][backend] = bset
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        st.text_input("New model", key=f"v{version}-new-model-{backend}", placeholder="model name", width=260)
        catalogue = [m for m in _catalogue(backend) if m not in models]
        st.selectbox("…or from the catalogue", ["", *catalogue], key=f"v{version}-cat-model-{backend}", width=260)
        st.button("Add model", icon=":material/add:", on_click=_add_model, args=(backend,), key=f"{bkey}-add-model")

with io_tab:
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Export", anchor=False)
        include = st.checkbox("Include API keys and other secrets", key="export-secrets")
        if include:
            st.warning("The file will hold your keys in plain text. Keep it private.", icon=":material/key:")
        snapshot = copy.deepcopy(draft)
        st.download_button(
            "Download settings JSON",
            data=lambda: json.dumps(snapshot if include else redact(snapshot), indent=2, ensure_ascii=False),
            file_name="vv-llm-settings.json",
            mime="application/json",
            icon=":material/download:",
            on_click="ignore",
            key="export-settings",
        )
        with st.expander("Preview (without secrets)"):
            st.code(json.dumps(redact(draft), indent=2, ensure_ascii=False), language="json")
    with right:
        st.subheader("Import", anchor=False)
        upload = st.file_uploader("Settings JSON file", type=["json"], key=f"v{version}-import-file")
        pasted = st.text_area("…or paste JSON", key=f"v{version}-import-text", height=140)
        if st.button("Load into editor", icon=":material/upload:", key="import-settings"):
            text = upload.getvalue().decode("utf-8", errors="replace") if upload is not None else pasted
            try:
                imported, kept = merge_import(draft, parse_import(text))
            except ValueError as exc:
                st.error(f"Cannot import: {exc}")
            else:
                _load_draft(imported, base=state["draft_base"])
                kept_note = f" Kept the saved keys of: {', '.join(kept)}." if kept else ""
                state["editor_notice"] = ("info", f"Imported into the editor — review it, then **Save**.{kept_note}")
                st.rerun()

# -- after every field is drawn: validate, place errors, act --------------------------------
errors = validate(draft)
placed: dict[str, list[str]] = {}
for path, message in errors:
    field = best_slot(path, slots)
    if field is not None:
        placed.setdefault(field, []).append(message if field == path else f"{path}: {message}")
for target, messages in placed.items():
    slots[target].error("\n\n".join(messages), icon=":material/error:")


def _problems(title: str) -> None:
    lines = "\n".join(f"- `{path or '(settings)'}`: {md_escape(message)}" for path, message in errors)
    status_slot.error(f"{title}\n\n{lines}", icon=":material/error:")


secrets = Scrubber(secret_values(draft))
for i, (backend_name, model_name) in tests:
    endpoint_id = str(draft["endpoints"][i].get("id") or "")
    slot = slots[f"endpoints[{i}].__test__"]
    if errors:
        slot.warning("Fix the settings problems first: the test uses the settings as shown here.")
        continue
    with slot, st.spinner(f"Calling {backend_name} through {endpoint_id}…"):
        result = check_endpoint(draft, endpoint_id, backend_name, model_name)
    if result.ok:
        slot.success(
            f"Connected · {(result.latency or 0) * 1000:.0f} ms · {result.model} {md_escape(result.message)}",
            icon=":material/check_circle:",
        )
    else:
        hint = f"\n\n:material/lightbulb: {result.hint}" if result.hint else ""
        slot.error(md_escape(secrets(result.message) or "") + hint, icon=":material/error:")

if save_clicked:
    if errors:
        _problems(f"Nothing was saved: {len(errors)} problem(s) to fix first.")
    else:
        try:
            ctx.settings.save(draft)
        except (SettingsError, OSError) as exc:
            status_slot.error(f"Nothing was saved: {md_escape(str(exc))}", icon=":material/error:")
        else:
            _load_draft(ctx.settings.loaded.data)
            state["draft_source"] = ctx.settings.loaded
            state["editor_notice"] = ("success", f"Saved to `{fmt.home_relative(ctx.settings.path)}`.")
            st.rerun()
elif errors:
    _problems(f"{len(errors)} problem(s) — fix them before saving:")
elif draft != state["draft_base"]:
    status_slot.warning("You have unsaved changes.", icon=":material/edit:")
elif ctx.settings.loaded.exists:
    usable = [o for o in model_options(ctx.settings.demo_endpoint_ids) if not o.demo]
    listed = sum(1 for o in usable if o.configured)
    status_slot.success(
        f"Saved settings · {len(draft['endpoints'])} endpoint(s) · {len(usable)} model(s) usable on Compare "
        f"({listed} listed here, {len(usable) - listed} from the built-in catalogue)",
        icon=":material/check_circle:",
    )
else:
    status_slot.info("No settings file yet: add an endpoint and save to create it.", icon=":material/info:")
