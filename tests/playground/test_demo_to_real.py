"""From the demo to a first real endpoint, as a new user goes: counts, selection, one-model runs, messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playground_helpers import texts, wait_for_run

KEY = "sk-first-real-key-0123456789"


def _field(at: Any, index: int, name: str) -> str:
    return f"v{at.session_state['draft_version']}-ep-{at.session_state['draft_uids'][index]}-{name}"


def _endpoints(at: Any) -> Any:
    return at.switch_page("app/pages/endpoints.py").run()


def test_after_the_first_endpoint_is_saved_its_catalogue_is_counted_selected_and_runs_next_to_the_demo(
    app: Any, fake_llm_server: Any
) -> None:
    fake_llm_server.api_keys = {KEY}
    at = app.run()
    assert any("no API key is configured" in i for i in texts(at.info))
    assert at.multiselect(key="compare_models").value == ["local/demo-fast", "local/demo-thinker", "local/demo-tools"]

    at = _endpoints(at)
    at.selectbox(key="add-endpoint-provider").set_value("openai")
    at = at.button(key="add-endpoint").click().run()
    at.text_input(key=_field(at, 0, "api_base")).set_value(fake_llm_server.url("/v1"))
    at.text_input(key=_field(at, 0, "api_key")).set_value(KEY)
    at = at.button(key="save-settings").click().run()
    assert not at.exception
    at = at.run()  # the page after the save's notice
    status = " ".join(texts(at.success))
    assert "0 listed here" in status
    usable = int(status.split(" model(s) usable")[0].rsplit("· ", 1)[1])
    assert usable >= 5, status  # the openai catalogue, not "0 model(s)"

    at = at.switch_page("app/pages/compare.py").run()
    picker = at.multiselect(key="compare_models")
    assert picker.value == ["openai/gpt-5"], "the first real model is selected in place of the demo ones"
    labels = picker.options
    assert any(label.startswith("gpt-5 · openai") for label in labels)
    demo_labels = [label for label in labels if "demo" in label]
    assert demo_labels and all(label.endswith("· demo (offline simulator)") for label in demo_labels), "demo models stay, labelled"
    assert labels.index(demo_labels[0]) > labels.index(next(lb for lb in labels if lb.startswith("gpt-5 ·"))), "real models come first"
    assert any(f"{usable} from the built-in catalogue (openai)" in c and "demo" in c for c in texts(at.caption))
    assert not any("no API key is configured" in i for i in texts(at.info)), "the banner does not deny the key just saved"
    assert any("demo" in c and "simulated" in c for c in texts(at.caption))

    # one model is enough for a run
    assert not at.button(key="run-button").disabled
    at.text_area(key="prompt").set_value("Hello, real model")
    at = wait_for_run(at.button(key="run-button").click().run())
    states = at.session_state["conversation"].current.run.states
    assert [(s.model, s.status) for s in states] == [("gpt-5", "done")]
    assert fake_llm_server.requests[-1].headers["authorization"] == f"Bearer {KEY}"

    # a demo model can join without a restart
    at.multiselect(key="compare_models").set_value(["openai/gpt-5", "local/demo-fast"])
    at.text_area(key="prompt").set_value("And now both")
    at = wait_for_run(at.button(key="run-button").click().run())
    assert [(s.model, s.status) for s in at.session_state["conversation"].current.run.states] == [("gpt-5", "done"), ("demo-fast", "done")]


def test_test_connection_says_no_key_and_hints_at_v1_after_a_401(app: Any, fake_llm_server: Any) -> None:
    fake_llm_server.api_keys = {KEY}
    at = _endpoints(app.run())
    assert "openai" in (at.selectbox(key="add-endpoint-provider").help or "") and "/v1" in at.selectbox(key="add-endpoint-provider").help
    at = at.button(key="add-endpoint").click().run()
    at = at.button(key=_field(at, 0, "test")).click().run()
    errors = [e.replace("\\", "") for e in texts(at.error)]  # shown Markdown-escaped
    assert any("No API key set for endpoint 'openai-default'" in e and "nothing was sent" in e for e in errors), errors
    assert fake_llm_server.requests == []

    at.text_input(key=_field(at, 0, "api_base")).set_value(fake_llm_server.url(""))  # no /v1
    at.text_input(key=_field(at, 0, "api_key")).set_value("sk-wrong-key-000000000")
    at = at.run()
    assert any(f"{fake_llm_server.url('')}/v1" in c for c in texts(at.caption)), "a hint under the base URL"
    at = at.button(key=_field(at, 0, "test")).click().run()
    errors = [e.replace("\\", "") for e in texts(at.error)]
    assert any("AuthenticationError" in e and "refused this key" in e and "/v1" in e for e in errors), errors


def test_base_url_hint_is_only_for_openai_compatible_urls_without_a_version() -> None:
    from app.settings.connection_check import base_url_hint

    assert base_url_hint("http://localhost:8000", ["local"]) is not None
    assert base_url_hint("http://localhost:8000/v1", ["local"]) is None
    assert base_url_hint("https://open.bigmodel.cn/api/paas/v4", ["zhipuai"]) is None
    assert base_url_hint("https://generativelanguage.googleapis.com/v1beta", ["gemini"]) is None
    assert base_url_hint("https://api.anthropic.com", ["anthropic"]) is None
    assert base_url_hint("https://my.openai.azure.com", ["openai"], kind="azure") is None
    assert base_url_hint(None, ["openai"]) is None


def test_python_m_vv_llm_testing_serves_models_and_checks_the_key(tmp_path: Path) -> None:
    from vv_llm.chat_clients import create_chat_client
    from vv_llm.errors import AuthenticationError
    from vv_llm.settings import Settings
    from vv_llm.testing import unused_port

    port = unused_port()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    process = subprocess.Popen(
        [sys.executable, "-m", "vv_llm.testing", "--port", str(port), "--key", KEY, "--pace", "0.05"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"listening on http://127.0.0.1:{port}" in banner, banner
        deadline = time.monotonic() + 30
        while True:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {KEY}"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    listed = json.load(response)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert listed["object"] == "list" and "demo-fast" in [m["id"] for m in listed["data"]]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": "Bearer nope"}))
        assert refused.value.code == 401

        def settings_with(key: str) -> Settings:
            settings = Settings()
            settings.load(
                {
                    "VERSION": "2",
                    "endpoints": [{"id": "offline", "api_base": f"http://127.0.0.1:{port}/v1", "api_key": key}],
                    "backends": {"local": {"models": {"demo-fast": {"endpoints": ["offline"]}}}},
                    "retry": {"max_attempts": 1},
                }
            )
            return settings

        reply = create_chat_client("local", "demo-fast", settings=settings_with(KEY)).create_completion([{"role": "user", "content": "hi"}])
        assert "offline demo model" in (reply.content or "")
        with pytest.raises(AuthenticationError):
            create_chat_client("local", "demo-fast", settings=settings_with("sk-wrong")).create_completion(
                [{"role": "user", "content": "hi"}]
            )
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
