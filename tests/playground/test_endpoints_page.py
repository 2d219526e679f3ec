"""Endpoints & models page: editing, validation at the field, atomic 0600 saves, import/export, test connection."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from playground_helpers import page_source, texts

KEY = "sk-planted-0123456789abcdefXYZ9"


def _open(app: Any) -> Any:
    at = app.run()
    return at.switch_page("app/pages/endpoints.py").run()


def _field(at: Any, index: int, name: str) -> str:
    return f"v{at.session_state['draft_version']}-ep-{at.session_state['draft_uids'][index]}-{name}"


def _add_endpoint(at: Any, provider: str = "openai") -> Any:
    at.selectbox(key="add-endpoint-provider").set_value(provider)
    return at.button(key="add-endpoint").click().run()


def test_invalid_settings_show_the_error_at_the_field_and_save_nothing(app: Any, data_dir: Path) -> None:
    at = _add_endpoint(_open(app))
    at.text_input(key=_field(at, 0, "api_base")).set_value("ftp://example.com")
    at.button(key="save-settings").click().run()
    assert not at.exception
    errors = texts(at.error)
    assert any("Nothing was saved" in e and "endpoints[0].api_base" in e for e in errors)
    # the message also sits in the endpoint's own form, under the Base URL field
    box = next(e for e in at.expander if "openai-default" in e.label.replace("\\", ""))
    assert any("must start with http:// or https://" in str(e.value) for e in box.error)
    assert not (data_dir / "settings.json").exists()


def test_an_invalid_edit_leaves_the_saved_file_untouched(app: Any, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "settings.json"
    path.write_text(json.dumps({"VERSION": "2", "endpoints": [{"id": "a", "api_key": KEY}, {"id": "b"}]}))
    before = path.read_bytes()
    at = _open(app)
    at.text_input(key=_field(at, 1, "id")).set_value("a")  # duplicate id
    at.button(key="save-settings").click().run()
    assert any("duplicate endpoint id" in e for e in texts(at.error))
    assert path.read_bytes() == before


def test_saving_writes_0600_atomically_and_real_models_come_before_the_demo(app: Any, data_dir: Path) -> None:
    at = _add_endpoint(_open(app))
    at.text_input(key=_field(at, 0, "api_key")).set_value(KEY)
    at.number_input(key=_field(at, 0, "rpm")).set_value(60)
    at.button(key="save-settings").click().run()
    assert not at.exception
    assert any("Saved to" in s for s in texts(at.success))
    path = data_dir / "settings.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["endpoints"] == [{"id": "openai-default", "api_key": KEY, "rpm": 60}]
    assert saved["backends"]["openai"]["endpoints"] == ["openai-default"]
    assert not [p for p in data_dir.iterdir() if p.name.startswith(".settings-")], "no temp file left behind"
    # the key is masked in the page: last 4 characters at most
    assert KEY not in page_source(at)
    assert any("••••" + KEY[-4:] in e.label for e in at.expander)

    at.switch_page("app/pages/compare.py").run()
    choices = at.multiselect(key="compare_models").options
    assert any("gpt" in c and "openai" in c for c in choices)
    assert choices.index(next(c for c in choices if "openai" in c)) < choices.index(next(c for c in choices if "demo" in c)), (
        "real models come first; the demo ones stay selectable after them"
    )


def test_import_keeps_saved_keys_and_export_leaves_them_out(app: Any, data_dir: Path) -> None:
    from app.settings.draft import merge_import
    from app.settings.file import redact

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(json.dumps({"VERSION": "2", "endpoints": [{"id": "main", "api_key": KEY}]}))
    at = _open(app)
    exported = json.dumps(redact(at.session_state["draft"]))
    assert KEY not in exported and '"main"' in exported
    imported = {"VERSION": "2", "endpoints": [{"id": "main", "rpm": 10}, {"id": "new", "api_base": "https://example.com/v1"}]}
    at.text_area(key=f"v{at.session_state['draft_version']}-import-text").set_value(json.dumps(imported))
    at.button(key="import-settings").click().run()
    assert not at.exception
    draft = at.session_state["draft"]
    assert [e["id"] for e in draft["endpoints"]] == ["main", "new"]
    assert draft["endpoints"][0]["api_key"] == KEY and draft["endpoints"][0]["rpm"] == 10
    assert any("Kept the saved keys of: main" in i for i in texts(at.info))
    at.button(key="save-settings").click().run()
    saved = json.loads((data_dir / "settings.json").read_text())
    assert saved["endpoints"][0] == {"id": "main", "api_key": KEY, "rpm": 10}
    # the same merge, directly: an export's missing keys never wipe saved ones
    assert merge_import(draft, redact(draft))[0]["endpoints"][0]["api_key"] == KEY


def test_import_of_broken_json_is_refused(app: Any) -> None:
    at = _open(app)
    at.text_area(key=f"v{at.session_state['draft_version']}-import-text").set_value("{not json")
    at.button(key="import-settings").click().run()
    assert any("Cannot import: not valid JSON" in e for e in texts(at.error))


def test_editing_a_backends_model_prices_is_validated(app: Any, data_dir: Path) -> None:
    at = _add_endpoint(_open(app), "deepseek")
    at.selectbox(key="editor-backend").set_value("deepseek").run()
    version = at.session_state["draft_version"]
    at.text_input(key=f"v{version}-new-model-deepseek").set_value("my-model")
    at.button(key=f"v{version}-be-deepseek-add-model").click().run()
    prefix = f"v{version}-be-deepseek-m-my-model"
    at.number_input(key=f"{prefix}-price-input").set_value(0.3)  # output price missing
    at.button(key="save-settings").click().run()
    assert any("backends.deepseek.models.my-model.prices.output" in e for e in texts(at.error))
    assert not (data_dir / "settings.json").exists()
    at.number_input(key=f"{prefix}-price-output").set_value(1.2)
    at.number_input(key=f"{prefix}-ctx").set_value(65536)
    at.button(key="save-settings").click().run()
    saved = json.loads((data_dir / "settings.json").read_text())
    assert saved["backends"]["deepseek"]["models"]["my-model"] == {"context_length": 65536, "prices": {"input": 0.3, "output": 1.2}}


@pytest.mark.parametrize(("key", "expected"), [("sk-wrong-key-000000", "AuthenticationError"), ("sk-right-key-111111", "Connected")])
def test_test_connection_shows_latency_or_the_typed_error(app: Any, fake_llm_server: Any, key: str, expected: str) -> None:
    fake_llm_server.api_keys = {"sk-right-key-111111"}
    at = _add_endpoint(_open(app))
    at.text_input(key=_field(at, 0, "api_base")).set_value(fake_llm_server.url("/v1"))
    at.text_input(key=_field(at, 0, "api_key")).set_value(key)
    at.button(key=_field(at, 0, "test")).click().run()
    assert not at.exception
    shown = texts(at.success) + texts(at.error)
    assert any(expected in s for s in shown), shown
    if expected == "Connected":
        assert any(" ms " in s for s in texts(at.success))
    assert key not in page_source(at)
