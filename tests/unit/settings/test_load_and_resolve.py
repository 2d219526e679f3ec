"""Loading, validating and resolving settings."""

from __future__ import annotations

import json

import pytest

from vv_llm.chat_clients import BackendType, create_chat_client
from vv_llm.errors import SettingsError, UnknownModelError
from vv_llm.settings import SETTINGS_ENV_VAR, Settings
from vv_llm.settings.catalogue import catalogue

BASIC = {
    "VERSION": "2",
    "endpoints": [{"id": "openai-default", "api_base": "https://api.openai.com/v1", "api_key": "sk-secret-value-123"}],
    "backends": {"openai": {"models": {"gpt-4o": {"id": "gpt-4o", "endpoints": ["openai-default"]}}}},
}


def errors_of(data) -> list[tuple[str, str]]:
    with pytest.raises(SettingsError) as info:
        Settings().load(data)
    return info.value.errors


def test_unknown_endpoint_names_the_field_path_and_the_known_ids():
    data = json.loads(json.dumps(BASIC))
    data["backends"]["openai"]["models"]["gpt-4o"]["endpoints"] = ["x"]
    with pytest.raises(SettingsError) as info:
        Settings().load(data)
    assert str(info.value) == "invalid settings: backends.openai.models.gpt-4o.endpoints[0]: unknown endpoint 'x'; known: openai-default"


@pytest.mark.parametrize(
    ("patch", "path", "fragment"),
    [
        ({"endpoints": [{"id": "a", "rpm": 0}]}, "endpoints[0].rpm", "greater than or equal to 1"),
        ({"endpoints": [{"id": "a", "api_base": "api.openai.com"}]}, "endpoints[0].api_base", "http:// or https://"),
        ({"endpoints": [{"id": "a", "api_kye": "k"}]}, "endpoints[0].api_kye", "unknown field"),
        ({"endpoints": [{"api_key": "k"}]}, "endpoints[0].id", "required"),
        ({"endpoints": [{"id": "a"}, {"id": "a"}]}, "endpoints[1].id", "duplicate endpoint id 'a'"),
        ({"endpoints": [{"id": "b", "is_bedrock": True}]}, "endpoints[0].region", "needs region"),
        (
            {"endpoints": [{"id": "b", "is_azure": True, "is_vertex": True, "region": "x", "api_base": "https://x"}]},
            "endpoints[0]",
            "only one of",
        ),
        ({"backends": {"opnai": {}}}, "backends.opnai", "unknown backend 'opnai'"),
        ({"backends": {"openai": {"models": {"m": {"context_length": "lots"}}}}}, "backends.openai.models.m.context_length", "integer"),
        (
            {"backends": {"openai": {"models": {"m": {"prices": {"input": -1, "output": 1}}}}}},
            "backends.openai.models.m.prices.input",
            "greater than or equal to 0",
        ),
        ({"rate_limit": {"backend": "memcached"}}, "rate_limit.backend", "'memory', 'redis' or 'diskcache'"),
    ],
)
def test_invalid_fields_are_named(patch, path, fragment):
    errors = errors_of({"VERSION": "2", **patch})
    assert any(p == path and fragment in m for p, m in errors), errors


def test_every_error_is_reported_at_once_and_no_secret_is_echoed():
    errors = errors_of({"VERSION": "2", "endpoints": [{"id": "a", "api_key": "sk-leaky-secret", "rpm": -5, "tpm": "x"}]})
    assert {p for p, _ in errors} == {"endpoints[0].rpm", "endpoints[0].tpm"}
    assert "sk-leaky-secret" not in str(errors)


def test_not_a_mapping():
    assert errors_of(["not", "a", "dict"])[0][1].startswith("settings must be a mapping")


def test_key_is_masked_in_repr_and_dump():
    s = Settings()
    s.load(BASIC)
    assert "sk-secret-value-123" not in repr(s.endpoints)
    assert "sk-secret-value-123" not in json.dumps(s.dump())
    assert s.dump()["endpoints"][0]["api_key"] == "***"
    assert s.dump(include_secrets=True)["endpoints"][0]["api_key"] == "sk-secret-value-123"
    # A dump with secrets loads back to the same settings.
    again = Settings()
    again.load(s.dump(include_secrets=True))
    assert again.model == s.model


def test_catalogue_fills_in_what_the_user_leaves_out():
    from vv_llm.utilities.tokens.models import model_setting

    s = Settings()
    s.load(BASIC)
    resolved = s.resolve("openai", "gpt-4o")
    assert resolved.context_length == 128000 and resolved.max_output_tokens == 16384
    assert resolved.setting.function_call_available is True
    qwen = model_setting("qwen", "qwen-plus")  # the catalogue prices only what genai-prices lacks (vv_llm.pricing)
    assert qwen is not None and qwen["prices"]["output"] > 0
    assert resolved.endpoints[0].model_id == "gpt-4o"


def test_user_values_override_the_catalogue():
    data = json.loads(json.dumps(BASIC))
    data["backends"]["openai"]["models"]["gpt-4o"].update(context_length=1000, prices={"input": 1, "output": 2})
    s = Settings()
    s.load(data)
    resolved = s.resolve("openai", "gpt-4o")
    assert resolved.context_length == 1000 and resolved.max_output_tokens == 16384
    assert (resolved.setting.prices.input, resolved.setting.prices.output) == (1, 2)


def test_backend_level_endpoints_serve_catalogue_models_and_default_api_base():
    s = Settings()
    s.load({"endpoints": [{"id": "ds", "api_key": "k"}], "backends": {"deepseek": {"endpoints": ["ds"]}}})
    resolved = s.resolve(BackendType.DeepSeek, "deepseek-reasoner")
    assert resolved.endpoints[0].api_base == "https://api.deepseek.com/v1"
    assert resolved.tokenizer == "deepseek"
    assert s.default_model("deepseek") == "deepseek-chat"


def test_every_backend_has_a_catalogue_entry_with_a_default_api_base():
    entries = catalogue()["backends"]
    assert set(entries) == {b.value for b in BackendType}
    for name, entry in entries.items():
        assert entry["api_base"].startswith(("https://", "http://localhost")), name
        for model, spec in entry["models"].items():
            assert spec["context_length"] >= spec["max_output_tokens"] > 0, (name, model)
            if "prices" in spec:  # only where genai-prices lacks the model (tests/unit/pricing/test_pricing.py)
                assert spec["prices"]["output"] >= 0 and spec["price_source"]["url"], (name, model)
    assert catalogue()["checked"]


def test_unknown_model_names_the_known_ones():
    s = Settings()
    s.load(BASIC)
    with pytest.raises(UnknownModelError) as info:
        s.resolve("openai", "gpt-5o")
    assert "unknown model 'gpt-5o' for backend 'openai'; known: gpt-4o, gpt-5" in str(info.value)


def test_model_without_endpoint_is_a_clear_error():
    s = Settings()
    s.load({"VERSION": "2"})
    with pytest.raises(SettingsError, match=r"backends.openai.models.gpt-4o.endpoints: model 'gpt-4o' cannot be called: no endpoint"):
        s.resolve("openai", "gpt-4o")


def test_disabled_endpoints_are_skipped():
    s = Settings()
    s.load(
        {
            "endpoints": [{"id": "a", "enabled": False}, {"id": "b"}],
            "backends": {"openai": {"models": {"gpt-4o": {"endpoints": ["a", {"endpoint_id": "b", "model_id": "gpt-4o-mini"}]}}}},
        }
    )
    assert [(e.id, e.model_id) for e in s.resolve("openai", "gpt-4o").endpoints] == [("b", "gpt-4o-mini")]


def test_unknown_backend_in_client_factory():
    with pytest.raises(ValueError, match="unknown backend 'gpt'; known: openai, anthropic"):
        create_chat_client("gpt")


def test_backend_names_parse_case_insensitively():
    assert BackendType.parse("OpenAI") is BackendType.OpenAI
    assert BackendType.parse("xAI") is BackendType.XAI
    assert BackendType.parse("zhipuai") is BackendType.ZhiPuAI
    assert len(BackendType) == 16


def test_version_1_flat_layout_is_upgraded():
    v1 = {
        "endpoints": [{"id": "moonshot-default", "api_key": "k"}],
        "moonshot": {
            "models": {"kimi": {"id": "moonshot-v1-8k", "endpoints": [{"endpoint_id": "moonshot-default", "model": "moonshot-v1-8k"}]}}
        },
        "openai": {"models": {}},
    }
    s = Settings()
    s.load(v1)
    resolved = s.resolve("moonshot", "kimi")
    assert resolved.endpoints[0].model_id == "moonshot-v1-8k"
    assert resolved.endpoints[0].api_base == "https://api.moonshot.cn/v1"
    assert s.model.VERSION == "2" and "openai" in s.backends


def test_load_json_and_toml_files_and_env_var(tmp_path, monkeypatch):
    json_file = tmp_path / "settings.json"
    json_file.write_text(json.dumps(BASIC))
    toml_file = tmp_path / "settings.toml"
    toml_file.write_text(
        'VERSION = "2"\n[[endpoints]]\nid = "local"\napi_base = "http://127.0.0.1:8000/v1"\n'
        '[backends.local.models.llama]\nid = "llama-3"\nendpoints = ["local"]\ncontext_length = 8192\n'
    )
    s = Settings()
    s.load_file(json_file)
    assert s.resolve("openai", "gpt-4o").endpoints[0].id == "openai-default"
    s.load_file(toml_file)
    assert s.resolve("local", "llama").endpoints[0].model_id == "llama-3"

    monkeypatch.setenv(SETTINGS_ENV_VAR, str(toml_file))
    fresh = Settings()
    assert fresh.resolve("local", "llama").context_length == 8192  # loaded on first use


def test_bad_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SettingsError, match="is not valid json"):
        Settings().load_file(bad)
    with pytest.raises(SettingsError, match="cannot read settings file"):
        Settings().load_file(tmp_path / "missing.json")


def test_reload_is_seen_by_existing_clients(fake_llm_server):
    from vv_llm.settings import settings

    try:
        settings.load(
            {
                "endpoints": [{"id": "a", "api_base": fake_llm_server.url("/v1")}],
                "backends": {"openai": {"models": {"gpt-4o": {"endpoints": ["a"]}}}},
            }
        )
        client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
        client.create_completion([{"role": "user", "content": "x"}])
        assert fake_llm_server.last_request.json["model"] == "gpt-4o"
        settings.load(
            {
                "endpoints": [{"id": "a", "api_base": fake_llm_server.url("/v1")}],
                "backends": {"openai": {"models": {"gpt-4o": {"endpoints": [{"endpoint_id": "a", "model_id": "renamed"}]}}}},
            }
        )
        client.create_completion([{"role": "user", "content": "x"}])
        assert fake_llm_server.last_request.json["model"] == "renamed"
    finally:
        settings.reset()


def test_top_level_settings_import_loads_the_process_settings():
    """`from vv_llm import settings` works like `from vv_llm.settings import settings`."""
    from vv_llm import settings as top_level
    from vv_llm.settings import settings as process_settings

    try:
        top_level.load(BASIC)
        assert process_settings.known_models("openai") == top_level.known_models("openai")
        assert "gpt-4o" in process_settings.known_models("openai")
        assert process_settings.get_endpoint("openai-default").id == "openai-default"
    finally:
        process_settings.reset()
