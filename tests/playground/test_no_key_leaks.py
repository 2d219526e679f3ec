"""A key planted in the settings appears in no history row, export, log line or page the app sends."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from playground_helpers import history_store, page_source, wait_for_run

KEY = "sk-PLANTED-live-key-9f8e7d6c5b4a3210"


def test_a_planted_key_never_leaves_the_settings_file(app: Any, data_dir: Path, fake_llm_server: Any, caplog: Any, capfd: Any) -> None:
    from app.history.export import FORMATS
    from vv_llm.testing import Reply, echo_responder

    caplog.set_level(logging.DEBUG)
    fake_llm_server.api_keys = {KEY}
    # a provider that echoes the key back in its error message (some do, partly masked)
    fake_llm_server.responder = lambda info: (
        Reply.error(401, f"Incorrect API key provided: {KEY}.") if info.model == "echoing" else echo_responder(info)
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(
        json.dumps(
            {
                "VERSION": "2",
                "endpoints": [{"id": "planted", "api_base": fake_llm_server.url("/v1"), "api_key": KEY}],
                "backends": {"local": {"models": {"planted-model": {"endpoints": ["planted"]}, "echoing": {"endpoints": ["planted"]}}}},
                "retry": {"max_attempts": 1},
            }
        )
    )
    at = app.run()
    at.multiselect(key="compare_models").set_value(["local/planted-model", "local/echoing"])
    at.text_area(key="prompt").set_value("Does my key leak?")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    ok, failed = at.session_state["conversation"].current.run.snapshot()
    assert ok.status == "done" and fake_llm_server.requests[-1].headers["authorization"] == f"Bearer {KEY}"  # it was used
    assert failed.status == "error" and failed.error_type == "AuthenticationError"
    assert "Incorrect API key provided" in (failed.error_message or "") and KEY not in (failed.error_message or "")

    pages = [page_source(at)]
    for page in ("history", "dashboard", "endpoints"):
        at.switch_page(f"app/pages/{page}.py").run()
        assert not at.exception
        pages.append(page_source(at))
    assert all(KEY not in source for source in pages)
    assert any(KEY[-4:] in source for source in pages), "the endpoint editor shows the key's last 4 characters"

    store = history_store(data_dir)
    runs = store.search()
    assert runs and runs[0].results[1].result.error_type == "AuthenticationError"
    for fmt in FORMATS.values():
        assert KEY not in fmt.render(runs)
    raw = b"".join(p.read_bytes() for p in data_dir.glob("history.db*"))
    assert raw and KEY.encode() not in raw

    out, err = capfd.readouterr()
    assert KEY not in out + err
    assert KEY not in caplog.text
