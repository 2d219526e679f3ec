"""Form sections of the settings editor: one endpoint, one backend with its models.

Each widget's value is written back into the draft dict as the script runs; each field gets an
``st.empty()`` slot under it, registered by its settings field path, so validation errors
(computed after every field is drawn) appear right at the field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app.settings.connection_check import base_url_hint
from app.settings.draft import ref_id
from app.settings.file import mask_secret

Slots = dict[str, DeltaGenerator]
KINDS = {"standard": "Standard (provider API)", "azure": "Azure OpenAI", "vertex": "Google Vertex AI", "bedrock": "AWS Bedrock"}
VERTEX_FIELDS = ("project_id", "service_account_file", "service_account_info")
BEDROCK_FIELDS = ("access_key_id", "secret_access_key", "session_token", "profile")
TRI_STATE = ["default", "yes", "no"]
BASE_URL_HELP = (
    "Empty = the backend's default (e.g. `https://api.openai.com/v1`). OpenAI-compatible servers need the "
    "version path: `http://localhost:11434/v1` (Ollama), `http://localhost:8000/v1` (vLLM, `python -m vv_llm.testing`). "
    "Anthropic takes the host only: `https://api.anthropic.com`."
)


def _put(target: dict[str, Any], field: str, value: Any) -> None:
    if value is None or value == "":
        target.pop(field, None)
    else:
        target[field] = value


def _number(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _slot(slots: Slots, path: str) -> None:
    slots[path] = st.empty()


def _kind(endpoint: dict[str, Any]) -> str:
    for kind in ("azure", "vertex", "bedrock"):
        if endpoint.get(f"is_{kind}"):
            return kind
    return "standard"


def _secret_input(label: str, current: str | None, key: str, help: str | None = None) -> str | None:
    """A password field that never shows the stored value: empty keeps it, typing replaces it.

    ``current`` is the value the editor held when the field was first drawn (remembered under
    ``{key}::held``), so a typed key that already went into the draft is not mistaken for the
    stored one: clearing the field brings the stored value back, as its placeholder says.

    The typed value reaches Python after a short typing pause (``live``), not only on Enter or
    on leaving the field: Streamlit's password field does not commit when Tab moves the focus to
    its own *Show password* toggle, which left a new key visible in the browser while *Test
    connection* and *Save* used the old one (the page script ``app/ui/browser.py`` also commits
    on Tab at once).
    """
    held_key = f"{key}::held"
    if held_key not in st.session_state:
        st.session_state[held_key] = current
    held: str | None = st.session_state[held_key]
    typed = st.text_input(
        label,
        type="password",
        key=key,
        value="",
        placeholder=f"saved: {mask_secret(held)} — type to replace" if held else "not set",
        help=help,
        autocomplete="off",
        live=True,
    )
    if typed and typed != held:
        st.caption(
            f":orange[:material/edit: {label} changed to {mask_secret(typed)} — not saved yet.] "
            "*Test connection* uses it; **Save** keeps it."
        )
    return typed or held


def shown_endpoint(endpoint: dict[str, Any], key: Callable[[str], str]) -> dict[str, Any]:
    """The endpoint as its form currently shows it (what the user typed, before this run draws it).

    For the endpoint's header, drawn before the form: without this it lagged one step behind.
    """
    state = st.session_state
    shown = dict(endpoint)
    for field in ("id", "api_base"):
        if key(field) in state:
            shown[field] = state[key(field)]
    held = state.get(f"{key('api_key')}::held", endpoint.get("api_key"))
    typed = state.get(key("api_key"))
    shown["api_key"] = None if state.get(key("remove_key")) else (typed or held)
    return shown


def endpoint_form(
    endpoint: dict[str, Any],
    index: int,
    key: Callable[[str], str],
    slots: Slots,
    test_choices: list[str],
    on_delete: Callable[[], None],
    *,
    backends: Sequence[str] = (),
) -> tuple[dict[str, Any], str | None]:
    """Draw one endpoint (used by ``backends``); returns ``(new endpoint dict, the test choice if Test was clicked)``."""
    path = f"endpoints[{index}]"
    new = dict(endpoint)
    _slot(slots, path)
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    _put(
        new,
        "id",
        c1.text_input("Endpoint id", value=str(endpoint.get("id") or ""), key=key("id"), help="Models refer to endpoints by this id."),
    )
    with c1:
        _slot(slots, f"{path}.id")
    kind = c2.selectbox("Kind", list(KINDS), index=list(KINDS).index(_kind(endpoint)), format_func=KINDS.__getitem__, key=key("kind"))
    enabled = c3.toggle("Enabled", value=bool(endpoint.get("enabled", True)), key=key("enabled"))
    if enabled:
        new.pop("enabled", None)
    else:
        new["enabled"] = False
    for other in ("azure", "vertex", "bedrock"):
        if other == kind:
            new[f"is_{other}"] = True
        else:
            new.pop(f"is_{other}", None)

    c1, c2 = st.columns([3, 2])
    with c1:
        _put(
            new,
            "api_base",
            st.text_input(
                "Base URL",
                value=str(endpoint.get("api_base") or ""),
                key=key("api_base"),
                placeholder="https://<resource>.openai.azure.com" if kind == "azure" else "empty = the backend's default URL",
                help=BASE_URL_HELP,
            ),
        )
        hint = base_url_hint(new.get("api_base"), backends, kind=kind)
        if hint:
            st.caption(f":orange[:material/warning: {hint}]")
        _slot(slots, f"{path}.api_base")
    with c2:
        current_key = endpoint.get("api_key") if isinstance(endpoint.get("api_key"), str) else None
        _put(new, "api_key", _secret_input("API key", current_key, key("api_key")))
        if st.session_state.get(f"{key('api_key')}::held") and st.checkbox("Remove the saved key", key=key("remove_key")):
            new.pop("api_key", None)
        _slot(slots, f"{path}.api_key")

    c1, c2, c3 = st.columns(3)
    for column, field, label in (
        (c1, "rpm", "Requests / minute"),
        (c2, "tpm", "Tokens / minute"),
        (c3, "concurrent_requests", "Concurrent requests"),
    ):
        with column:
            _put(
                new,
                field,
                st.number_input(label, min_value=1, step=1, value=_number(endpoint.get(field)), key=key(field), placeholder="no limit"),
            )
            _slot(slots, f"{path}.{field}")

    credentials = dict(endpoint.get("credentials") or {}) if isinstance(endpoint.get("credentials"), dict) else {}
    if kind == "azure":
        _put(
            new,
            "api_version",
            st.text_input("API version", value=str(endpoint.get("api_version") or ""), key=key("api_version"), placeholder="2024-10-21"),
        )
        _slot(slots, f"{path}.api_version")
    if kind in ("vertex", "bedrock"):
        _put(
            new,
            "region",
            st.text_input(
                "Region",
                value=str(endpoint.get("region") or ""),
                key=key("region"),
                placeholder="us-central1" if kind == "vertex" else "us-east-1",
            ),
        )
        _slot(slots, f"{path}.region")
    if kind == "vertex":
        credentials = {k: v for k, v in credentials.items() if k in VERTEX_FIELDS}
        c1, c2 = st.columns(2)
        _put(credentials, "project_id", c1.text_input("Project id", value=str(credentials.get("project_id") or ""), key=key("project_id")))
        _put(
            credentials,
            "service_account_file",
            c2.text_input(
                "Service account file",
                value=str(credentials.get("service_account_file") or ""),
                key=key("sa_file"),
                placeholder="/path/to/key.json",
            ),
        )
        if credentials.get("service_account_info"):
            st.caption("A service account JSON is stored in the settings file (not shown).")
    elif kind == "bedrock":
        credentials = {k: v for k, v in credentials.items() if k in BEDROCK_FIELDS}
        c1, c2 = st.columns(2)
        with c1:
            _put(credentials, "access_key_id", _secret_input("Access key id", credentials.get("access_key_id"), key("aws_key_id")))
            _put(credentials, "session_token", _secret_input("Session token", credentials.get("session_token"), key("aws_token")))
        with c2:
            _put(
                credentials,
                "secret_access_key",
                _secret_input("Secret access key", credentials.get("secret_access_key"), key("aws_secret")),
            )
            _put(
                credentials,
                "profile",
                st.text_input("Profile", value=str(credentials.get("profile") or ""), key=key("aws_profile"), placeholder="default"),
            )
    else:
        credentials = {}
    _put(new, "credentials", credentials or None)
    if kind != "azure":
        new.pop("api_version", None)
    if kind not in ("vertex", "bedrock"):
        new.pop("region", None)
    _slot(slots, f"{path}.credentials")

    c1, c2, c3, c4 = st.columns(4)
    with c1:
        _put(
            new, "proxy", st.text_input("Proxy", value=str(endpoint.get("proxy") or ""), key=key("proxy"), placeholder="http://proxy:3128")
        )
        _slot(slots, f"{path}.proxy")
    with c2:
        _put(
            new,
            "timeout",
            st.number_input(
                "Timeout (s)", min_value=1.0, value=_number(endpoint.get("timeout")), key=key("timeout"), placeholder="default"
            ),
        )
        _slot(slots, f"{path}.timeout")
    with c3:
        priority = st.number_input(
            "Priority", value=int(_number(endpoint.get("priority")) or 0), step=1, key=key("priority"), help="Lower is tried first."
        )
        _put(new, "priority", priority or None)
        _slot(slots, f"{path}.priority")
    with c4:
        weight = st.number_input("Weight", min_value=0.01, value=float(_number(endpoint.get("weight")) or 1.0), step=0.5, key=key("weight"))
        _put(new, "weight", None if weight == 1.0 else weight)
        _slot(slots, f"{path}.weight")

    c1, c2, c3 = st.columns([3, 1.3, 1.2], vertical_alignment="bottom")
    choice = c1.selectbox(
        "Test with", test_choices, key=key("test_with"), help="The model used for the test call (one short request, no retries)."
    )
    test = c2.button("Test connection", icon=":material/network_check:", key=key("test"))
    c3.button("Delete endpoint", icon=":material/delete:", key=key("delete"), on_click=on_delete)
    _slot(slots, f"{path}.__test__")
    return new, choice if test else None


def _refs(current: list[Any], chosen: list[str]) -> list[Any]:
    """New reference list for ``chosen`` ids, keeping extra fields of references that stay."""
    by_id = {ref_id(r): r for r in current}
    return [by_id.get(i, i) for i in chosen]


def _tri(value: Any) -> str:
    return "default" if value is None else ("yes" if value else "no")


def model_form(
    backend: str,
    name: str,
    model: dict[str, Any],
    key: Callable[[str], str],
    slots: Slots,
    endpoint_ids: list[str],
    on_remove: Callable[[], None],
) -> dict[str, Any]:
    """Draw one model of a backend; returns the new model dict."""
    path = f"backends.{backend}.models.{name}"
    new = dict(model)
    _slot(slots, path)
    current_refs = [r for r in model.get("endpoints") or [] if ref_id(r) is not None]
    current_ids = [str(ref_id(r)) for r in current_refs]
    c1, c2 = st.columns([1, 2])
    with c1:
        _put(new, "id", st.text_input("Provider model id", value=str(model.get("id") or ""), key=key("id"), placeholder=name))
        _slot(slots, f"{path}.id")
    with c2:
        chosen = st.multiselect(
            "Endpoints",
            list(dict.fromkeys(endpoint_ids + current_ids)),
            key=key("endpoints"),
            default=None if key("endpoints") in st.session_state else current_ids,
            placeholder="the backend's endpoints",
        )
        _slot(slots, f"{path}.endpoints")
    refs = _refs(current_refs, chosen)
    if chosen:
        st.caption("Model id per endpoint (leave empty to use the provider model id)")
        columns = st.columns(min(3, len(chosen)))
        for j, endpoint_id in enumerate(chosen):
            ref = refs[j] if isinstance(refs[j], dict) else {"endpoint_id": endpoint_id}
            with columns[j % len(columns)]:
                override = st.text_input(f"at {endpoint_id}", value=str(ref.get("model_id") or ""), key=key(f"mid-{endpoint_id}"))
            ref = {**ref, "model_id": override} if override else {k: v for k, v in ref.items() if k != "model_id"}
            refs[j] = ref["endpoint_id"] if set(ref) == {"endpoint_id"} else ref
    _put(new, "endpoints", refs or None)

    c1, c2, c3, c4 = st.columns(4)
    for column, field, label, widget in (
        (c1, "context_length", "Context length", "ctx"),
        (c2, "max_output_tokens", "Max output tokens", "max_out"),
    ):
        with column:
            value = st.number_input(
                label, min_value=1, step=1024, value=_number(model.get(field)), key=key(widget), placeholder="catalogue"
            )
            _put(new, field, value)
            _slot(slots, f"{path}.{field}")
    flags = {"reasoning": "Reasoning", "function_call_available": "Tool calls", "native_multimodal": "Images"}
    with c3:
        for field in ("reasoning", "function_call_available"):
            pick = st.selectbox(flags[field], TRI_STATE, index=TRI_STATE.index(_tri(model.get(field))), key=key(field))
            _put(new, field, None if pick == "default" else pick == "yes")
    with c4:
        pick = st.selectbox(
            flags["native_multimodal"], TRI_STATE, index=TRI_STATE.index(_tri(model.get("native_multimodal"))), key=key("native_multimodal")
        )
        _put(new, "native_multimodal", None if pick == "default" else pick == "yes")
        enabled = st.toggle("Enabled", value=bool(model.get("enabled", True)), key=key("enabled"))
        _put(new, "enabled", None if enabled else False)

    st.caption("Prices, USD per 1M tokens (empty = the catalogue's)")
    prices = dict(model.get("prices") or {}) if isinstance(model.get("prices"), dict) else {}
    price_columns = st.columns(4)
    for column, field, label in zip(
        price_columns, ("input", "output", "cached_input", "cache_write"), ("Input", "Output", "Cached input", "Cache write"), strict=True
    ):
        with column:
            _put(
                prices,
                field,
                st.number_input(
                    label,
                    min_value=0.0,
                    step=0.05,
                    format="%.4f",
                    value=_number(prices.get(field)),
                    key=key(f"price-{field}"),
                    placeholder="–",
                ),
            )
            _slot(slots, f"{path}.prices.{field}")
    _put(new, "prices", prices or None)
    _slot(slots, f"{path}.prices")
    st.button("Remove model", icon=":material/delete:", key=key("remove"), on_click=on_remove)
    return new
