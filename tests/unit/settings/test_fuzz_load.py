"""Random settings dicts: ``settings.load`` either accepts them or raises SettingsError naming the
field — never another exception type — and what it accepts resolves to typed results or errors."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vv_llm.errors import VVLLMError
from vv_llm.settings.store import Settings
from vv_llm.types.enums import BackendType

from ..fuzz_guard import no_hang

FUZZ = settings(max_examples=int(os.environ.get("VV_FUZZ_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = [
    "VERSION", "endpoints", "backends", "rate_limit", "retry", "timeouts", "token_server", "id", "api_base", "api_key",
    "rpm", "tpm", "concurrent_requests", "proxy", "headers", "enabled", "weight", "priority", "is_azure", "api_version",
    "is_vertex", "is_bedrock", "region", "credentials", "timeout", "models", "endpoint_id", "model_id", "context_length",
    "max_output_tokens", "prices", "input", "output", "backend", "redis", "diskcache", "default_rpm", "default_tpm",
    "window_seconds", "max_attempts", "backoff_initial", "backoff_max", "cooldown_seconds", "connect", "read", "total",
    "default_model", "url", "host", "port", "db", "password", "cache_dir", "access_key_id", "project_id",
    "openai", "anthropic", "gemini", "moonshot", "local", "gpt-4o", "not-a-backend",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["2", "1", "", "http://127.0.0.1:1/v1", "ftp://x", "redis", "memory", "diskcache", "e1", "openai", "gpt-4o"])
    | st.text(max_size=10)
)
values = st.recursive(
    scalars, lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=6), max_leaves=30
)
settings_dicts = st.dictionaries(st.sampled_from(KEYS), values, max_size=7)

endpoint = st.fixed_dictionaries(
    {"id": st.sampled_from(["e1", "e2", ""])},
    optional={k: values for k in ["api_base", "api_key", "rpm", "tpm", "weight", "priority", "enabled", "is_azure", "timeout", "region"]},
)
plausible = st.fixed_dictionaries(
    {"VERSION": st.just("2"), "endpoints": st.lists(endpoint, max_size=3)},
    optional={
        "backends": st.dictionaries(
            st.sampled_from(["openai", "anthropic", "gemini", "nope"]),
            st.fixed_dictionaries(
                {}, optional={"endpoints": st.lists(st.sampled_from(["e1", "e2", "e3"]) | values, max_size=3), "models": values}
            ),
            max_size=3,
        ),
        "rate_limit": st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
        "retry": st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
        "timeouts": st.dictionaries(st.sampled_from(KEYS), values, max_size=3),
    },
)


def load(data: Any) -> None:
    store = Settings()
    with no_hang():
        _load(store, data)


def _load(store: Settings, data: Any) -> None:
    try:
        store.load(data)
    except VVLLMError:
        return
    for backend in (BackendType.OpenAI, BackendType.Anthropic, BackendType.Gemini):
        try:
            store.resolve(backend)
        except VVLLMError:
            pass


@FUZZ
@given(data=settings_dicts)
def test_random_dicts(data):
    load(data)


@FUZZ
@given(data=plausible)
def test_settings_shaped_dicts(data):
    load(data)


@FUZZ
@given(data=values)
def test_anything_at_all(data):
    load(data)
