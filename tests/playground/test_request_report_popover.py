"""The per-column "Request" popover (endpoint, model id, option fates) on Compare and History, and
the report kept in history inside the result row's ``parameters`` JSON (no schema change)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playground_helpers import history_store, texts, wait_for_run


def test_compare_shows_the_report_per_column_and_history_keeps_it(app: Any, data_dir: Path) -> None:
    from app.compare.conversation import restored_state
    from app.history.models import RunResult

    at = app.run()
    at.multiselect(key="compare_models").set_value(["local/demo-fast", "local/demo-thinker"])
    at.text_area(key="prompt").set_value("Explain RAG")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    assert not at.exception, at.exception
    states = at.session_state["conversation"].current.run.snapshot()
    for state in states:
        report = state.request_report
        assert report["endpoint_id"] == state.endpoint_id and report["model_id"] == state.model and report["backend"] == "local"
    page = "\n".join(texts(at.markdown))
    assert "**Model id** `demo-fast`" in page and "**Model id** `demo-thinker`" in page and "**Endpoint**" in page

    view = history_store(data_dir).search()[0]
    for result, state in zip(view.results, states, strict=True):
        stored = json.loads(result.result.parameters)
        assert stored["request_report"] == state.request_report
        assert restored_state(result.result, [], None).request_report == state.request_report  # History shows the same
    assert "request_report" not in RunResult.__table__.columns  # kept inside parameters: no migration needed


def test_report_lines_mark_mapped_and_dropped_options_and_escape_names() -> None:
    from app.ui.request_report import report_lines

    lines = report_lines(
        {
            "endpoint_id": "eu_main",
            "provider": "gemini",
            "model_id": "gemini-2.5-flash",
            "failed_over": ["us*backup"],
            "structured_output": "json_schema",
            "options": {
                "temperature": {"status": "mapped", "to": "generationConfig.temperature"},
                "parallel_tool_calls": {"status": "dropped", "reason": "Gemini has no parallel_tool_calls parameter"},
            },
        }
    )
    text = "\n".join(lines)
    assert "**Model id** `gemini-2.5-flash`" in text and "`eu_main`" in text and "`us*backup`" in text
    assert "**Structured output** by json\\_schema" in text
    assert r"| `parallel_tool_calls` | :orange[**dropped**] | Gemini has no parallel\_tool\_calls parameter |" in text
    assert r"| `temperature` | :blue[mapped] | generationConfig\.temperature |" in text
