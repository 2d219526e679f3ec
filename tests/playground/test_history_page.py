"""History: stored as runs happen, searchable, exportable (Markdown / JSON / CSV), reopenable, deletable."""

from __future__ import annotations

import csv
import io
import json
import socket
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from playground_helpers import texts, wait_for_run


@pytest.fixture
def demo_runs(history_url: str) -> Iterator[Any]:
    """Two finished runs of the demo models, recorded through the real runner (SQLite and PostgreSQL)."""
    from app.compare.runner import ColumnRequest, CompareRun
    from app.history.store import HistoryStore
    from vv_llm.settings import settings
    from vv_llm.testing.demo import DemoBackend

    store = HistoryStore(history_url)
    with DemoBackend(pace=0.05) as demo:
        settings.load(demo.settings_dict())
        for prompt, models in (
            ("Explain RAG", ["demo-fast", "demo-thinker", "demo-tools"]),
            ("Write a haiku", ["demo-fast", "demo-flaky"]),
        ):
            messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}]
            run = CompareRun(
                [ColumnRequest("local", m, messages, {"temperature": 0.5}) for m in models],
                meta={"user_prompt": prompt, "system_prompt": "Be brief."},
                recorder=store,
            ).start()
            assert run.wait(30)
        yield store


def test_runs_are_searchable_by_text_model_and_date(demo_runs: Any) -> None:
    from datetime import datetime, timedelta

    store = demo_runs
    assert store.count() == 2
    assert [v.run.user_prompt for v in store.search("haiku")] == ["Write a haiku"]
    assert [v.run.user_prompt for v in store.search("SHORT ANSWER")] == ["Write a haiku", "Explain RAG"]  # answers, any case
    assert [v.run.user_prompt for v in store.search(models=["demo-thinker"])] == ["Explain RAG"]
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert store.count(start=tomorrow) == 0 and store.count(end=tomorrow) == 2
    assert store.count("100%_") == 0  # LIKE wildcards are matched literally


def test_exports_are_valid_markdown_json_and_csv(demo_runs: Any) -> None:
    from openai.types.chat import ChatCompletionMessageParam
    from pydantic import TypeAdapter

    from app.history.export import CSV_COLUMNS, to_csv, to_json, to_markdown

    runs = demo_runs.search()
    payload = json.loads(to_json(runs))
    assert payload["format"] == "vv-llm-history" and payload["version"] == 1 and len(payload["runs"]) == 2
    rag = next(r for r in payload["runs"] if r["user_prompt"] == "Explain RAG")
    assert rag["system_prompt"] == "Be brief." and rag["created_at"].endswith("Z")
    adapter = TypeAdapter(list[ChatCompletionMessageParam])
    for result in rag["results"]:
        adapter.validate_python(result["messages"])  # OpenAI's own message types accept them
        assert [m["role"] for m in result["messages"]] == ["system", "user", "assistant"]
        assert result["usage"]["completion_tokens"] > 0 and result["ttft_s"] is not None and result["cost_usd"] > 0
    tools = rag["results"][2]
    assert tools["messages"][-1]["tool_calls"][0]["type"] == "function" and tools["tool_calls"][0]["function"]["name"] == "web_search"
    haiku = next(r for r in payload["runs"] if r["user_prompt"] == "Write a haiku")
    flaky = haiku["results"][1]
    assert flaky["status"] == "partial" and flaky["partial"] is True and flaky["error"]["type"] == "PartialStreamError" and flaky["content"]

    rows = list(csv.DictReader(io.StringIO(to_csv(runs))))
    assert len(rows) == 5 and list(rows[0]) == CSV_COLUMNS
    assert {r["model"] for r in rows} == {"demo-fast", "demo-thinker", "demo-tools", "demo-flaky"}
    assert all(float(r["total_s"]) > 0 for r in rows)
    assert any(r["status"] == "partial" and r["error_type"] == "PartialStreamError" for r in rows)

    markdown = to_markdown(runs)
    assert markdown.startswith("# vv-llm history export (2 runs)\n")
    assert "## Explain RAG" in markdown and "## Write a haiku" in markdown
    assert "### 1. demo-fast (local) — done" in markdown
    assert "— partial (partial)" in markdown and "**Error** `PartialStreamError`" in markdown
    assert "**Reasoning**\n\n> The user asks about" in markdown and '"name": "web_search"' in markdown


def test_history_page_lists_filters_reopens_and_deletes(app: Any, demo_runs: Any) -> None:
    at = app.run()
    at.switch_page("app/pages/history.py").run()
    assert not at.exception
    assert any("2 runs match" in c for c in texts(at.caption))
    at.text_input(key="history_text").set_value("haiku").run()
    assert any("1 run match" in c for c in texts(at.caption))
    haiku = demo_runs.search("haiku")[0].run.id
    at.checkbox(key=f"select-{haiku}").check().run()
    assert at.get("download_button")[0].proto.label == "Export selected (1)"
    assert not at.get("download_button")[0].proto.disabled

    at.button(key=f"open-{haiku}").click().run()
    assert not at.exception
    conversation = at.session_state["conversation"]
    assert conversation.refs == ["local/demo-fast", "local/demo-flaky"]
    assert conversation.current.run.id == haiku and conversation.system_prompt == "Be brief."
    assert any("Partial answer" in w for w in texts(at.warning))  # the stored partial is shown as partial

    # a follow-up from the reopened run continues its conversation
    at.text_area(key="prompt").set_value("Another one, please")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    follow_up = at.session_state["conversation"].current.run
    stored = demo_runs.get(follow_up.id)
    assert stored.run.parent_id == haiku
    assert [m["role"] for m in stored.results[0].messages] == ["system", "user", "assistant", "user", "assistant"]

    at.switch_page("app/pages/history.py").run()
    at.text_input(key="history_text").set_value("").run()
    at.button(key=f"delete-{haiku}").click().run()
    assert demo_runs.get(haiku) is None
    assert any("Deleted 1 run" in s for s in texts(at.success))


def test_a_crash_mid_stream_keeps_what_arrived_marked_partial(history_url: str) -> None:
    from app.history.models import Run, RunResult
    from app.history.store import INTERRUPTED, HistoryStore

    store = HistoryStore(history_url)
    with store.session() as s:
        s.add(Run(id="r1", user_prompt="q", owner=f"{socket.gethostname()}:999999999", status="running"))
        s.flush()
        s.add(RunResult(run_id="r1", model="m", status="running", content="half an ans"))
        s.add(RunResult(run_id="r1", model="n", position=1, status="done", content="full answer"))
        s.commit()
    reopened = HistoryStore(store.url)  # what the next start of the playground does
    view = reopened.get("r1")
    assert view is not None and view.run.status == "partial"
    assert [(r.result.status, r.result.content) for r in view.results] == [("partial", "half an ans"), ("done", "full answer")]
    assert view.results[0].result.error_message == INTERRUPTED


def test_sqlite_history_uses_wal_and_the_url_is_configurable(app: Any, data_dir: Path, monkeypatch: Any) -> None:
    other = data_dir.parent / "team.db"
    monkeypatch.setenv("VV_LLM_DATABASE_URL", f"sqlite:///{other}")
    at = app.run()
    at.text_area(key="prompt").set_value("where is this stored?")
    at.button(key="run-button").click().run()
    wait_for_run(at)
    from app.history.store import HistoryStore

    store = HistoryStore(f"sqlite:///{other}")
    assert store.journal_mode() == "wal"
    assert [v.run.user_prompt for v in store.search()] == ["where is this stored?"]
    assert not (data_dir / "history.db").exists()
