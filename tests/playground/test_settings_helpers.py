"""The settings file, secrets handling and the conversation helpers behind the pages."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from playground_helpers import texts

from vv_llm.errors import SettingsError

KEY = "sk-helper-secret-abcdef123456"


def test_write_is_atomic_0600_and_refuses_invalid_data(tmp_path: Path) -> None:
    from app.settings.file import read_settings, write_settings

    path = tmp_path / "nested" / "settings.json"
    saved = write_settings(path, {"VERSION": "2", "endpoints": [{"id": "a", "api_key": KEY, "api_base": "https://x.example/v1/"}]})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert saved["endpoints"] == [{"id": "a", "api_key": KEY, "api_base": "https://x.example/v1"}]  # normalised by the engine's rules
    before = path.read_bytes()
    with pytest.raises(SettingsError) as caught:
        write_settings(path, {"VERSION": "2", "endpoints": [{"id": "a", "rpm": 0}]})
    assert caught.value.errors[0][0] == "endpoints[0].rpm"
    assert path.read_bytes() == before and os.listdir(path.parent) == ["settings.json"]
    loaded = read_settings(path)
    assert loaded.valid and loaded.data == saved


def test_reading_upgrades_old_layouts_and_reports_broken_files(tmp_path: Path) -> None:
    from app.settings.file import read_settings

    old = tmp_path / "old.json"
    old.write_text(
        json.dumps(
            {
                "endpoints": [{"id": "e", "api_key": KEY}],
                "openai": {"models": {"gpt-4o": {"endpoints": [{"endpoint_id": "e", "model": "gpt-4o-2024"}]}}},
            }
        )
    )
    loaded = read_settings(old)
    assert loaded.valid
    assert loaded.data["backends"]["openai"]["models"]["gpt-4o"]["endpoints"] == [{"endpoint_id": "e", "model_id": "gpt-4o-2024"}]
    assert loaded.data["endpoints"][0]["api_key"] == KEY  # secrets survive normalisation
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert read_settings(broken).problem and not read_settings(broken).valid
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({"VERSION": "2", "endpoints": [{"id": "e", "api_base": "nope"}]}))
    result = read_settings(invalid)
    assert result.errors and result.errors[0][0] == "endpoints[0].api_base" and result.data["endpoints"][0]["api_base"] == "nope"
    assert read_settings(tmp_path / "missing.json").data == {"VERSION": "2"}


def test_redact_and_secret_values_cover_every_kind_of_secret() -> None:
    from app.settings.file import mask_secret, redact, secret_values

    data: dict[str, Any] = {
        "VERSION": "2",
        "endpoints": [
            {"id": "a", "api_key": KEY, "headers": {"X-Api-Key": "hdr-secret-1", "X-Team": "blue"}, "proxy": "http://u:proxy-pass@p:3128"},
            {
                "id": "b",
                "is_bedrock": True,
                "region": "us-east-1",
                "credentials": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "aws-secret-9", "profile": "dev"},
            },
            {
                "id": "c",
                "is_vertex": True,
                "region": "us-central1",
                "credentials": {"project_id": "p", "service_account_info": {"private_key": "-----BEGIN KEY-----"}},
            },
        ],
        "rate_limit": {"backend": "redis", "redis": {"url": "redis://:redis-pass@h:6379/0", "password": "redis-pass"}},
    }
    clean = json.dumps(redact(data))
    for secret in secret_values(data):
        assert secret not in clean
    assert {KEY, "hdr-secret-1", "proxy-pass", "AKIAEXAMPLE", "aws-secret-9", "-----BEGIN KEY-----", "redis-pass"} <= set(
        secret_values(data)
    )
    assert '"X-Team": "blue"' in clean and '"profile": "dev"' in clean and '"project_id": "p"' in clean
    assert mask_secret(KEY) == "••••••••3456" and mask_secret("short") == "••••" and mask_secret(None) == ""


def test_demo_mode_follows_the_settings(tmp_path: Path) -> None:
    from app.settings.file import has_usable_endpoint

    assert not has_usable_endpoint({"VERSION": "2"})
    assert not has_usable_endpoint({"endpoints": [{"id": "a"}]})
    assert has_usable_endpoint({"endpoints": [{"id": "a", "api_key": "k"}]})
    assert not has_usable_endpoint({"endpoints": [{"id": "a", "api_key": "k", "enabled": False}]})
    assert has_usable_endpoint({"endpoints": [{"id": "ollama"}], "backends": {"local": {"models": {"llama3": {"endpoints": ["ollama"]}}}}})


def test_user_messages_carry_images_as_data_urls() -> None:
    from app.compare.conversation import image_count, message_text, user_message

    message = user_message("What is this?", [("image/png", b"\x89PNG")])
    assert message["content"][0] == {"type": "text", "text": "What is this?"}
    assert message["content"][1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}}
    assert image_count(message) == 1 and message_text(message) == "What is this?\n[image]"
    assert user_message("plain") == {"role": "user", "content": "plain"}


@pytest.mark.parametrize(
    ("kind", "path", "message"),
    [
        ("bedrock", "endpoints[0].region", "a Bedrock endpoint needs region"),
        ("vertex", "endpoints[0].region", "a Vertex AI endpoint needs region"),
        ("azure", "endpoints[0].api_base", "an Azure endpoint needs api_base"),
    ],
)
def test_deployment_kinds_need_their_fields(app: Any, data_dir: Path, kind: str, path: str, message: str) -> None:
    at = app.run()
    at.switch_page("app/pages/endpoints.py").run()
    at.selectbox(key="add-endpoint-provider").set_value("custom")
    at.button(key="add-endpoint").click().run()
    prefix = f"v{at.session_state['draft_version']}-ep-{at.session_state['draft_uids'][0]}"
    at.selectbox(key=f"{prefix}-kind").set_value(kind).run()
    at.button(key="save-settings").click().run()
    assert any(message in e for e in texts(at.error))
    assert any(path in e for e in texts(at.error))
    assert not (data_dir / "settings.json").exists()


def test_column_cost_charges_cached_input_at_its_own_price() -> None:
    from app.compare.costs import cost_usd
    from vv_llm.settings import settings

    settings.load(
        {
            "VERSION": "2",
            "endpoints": [{"id": "e", "api_key": "k"}],
            "backends": {"local": {"models": {"m": {"endpoints": ["e"], "prices": {"input": 1.0, "output": 2.0, "cached_input": 0.1}}}}},
        }
    )
    try:
        usage = {"prompt_tokens": 1000, "cached_tokens": 400, "completion_tokens": 500}
        assert cost_usd("local", "m", usage) == pytest.approx((600 * 1.0 + 400 * 0.1 + 500 * 2.0) / 1_000_000)
        assert cost_usd("local", "unknown-model", usage) is None
        assert cost_usd("local", "m", None) is None
    finally:
        settings.reset()
