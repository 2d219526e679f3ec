"""Honest labels on Compare, History exports and Usage: what the user sees matches what happened."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playground_helpers import history_store, texts, wait_for_run


def _cards(at: Any) -> str:
    return "\n".join(str(m.value) for m in at.markdown) + "\n" + "\n".join(texts(at.caption))


def test_custom_parameters_are_marked_shown_on_the_card_and_the_demo_stops_at_max_tokens(app: Any) -> None:
    at = app.run()
    at.multiselect(key="compare_models").set_value(["local/demo-fast", "local/demo-thinker"]).run()
    at.number_input(key="param-temperature::local/demo-fast").set_value(0.2)
    at.number_input(key="param-max_tokens::local/demo-fast").set_value(24)
    at = at.run()
    assert [p.proto.popover.label for p in at.get("popover")] == ["demo-fast · custom", "demo-thinker"]
    at.text_area(key="prompt").set_value("Explain retrieval-augmented generation in detail, please.")
    at = wait_for_run(at.button(key="run-button").click().run())
    fast, thinker = at.session_state["conversation"].current.run.states
    assert fast.params == {"temperature": 0.2, "max_tokens": 24} and thinker.params == {}
    assert fast.usage["completion_tokens"] <= 24 and fast.finish_reason == "length", "the demo respects max_tokens"
    assert thinker.finish_reason == "stop"
    assert "Parameters: temperature 0.2 · max tokens 24" in [c.replace("\\", "") for c in texts(at.caption)]
    assert _cards(at).count("custom parameters") == 1, "the card with custom parameters is marked"


def test_tool_calls_say_they_are_not_run_and_a_typed_result_goes_into_the_follow_up(app: Any) -> None:
    from app.compare.conversation import NO_TOOL_RESULT, tool_result_key

    at = app.run()
    at.toggle(key="tools_on").set_value(True).run()
    at.multiselect(key="compare_models").set_value(["local/demo-tools", "local/demo-fast"])
    at.text_area(key="prompt").set_value("Weather in Paris?")
    at = wait_for_run(at.button(key="run-button").click().run())
    assert any("Not executed" in c and "Type a result below" in c for c in texts(at.caption))
    call = at.session_state["conversation"].current.run.states[0].tool_calls[0]
    at.text_area(key=tool_result_key(0, call["id"])).set_value('{"temperature_c": 18}')
    at.text_area(key="prompt").set_value("So, should I take a coat?")
    at = wait_for_run(at.button(key="run-button").click().run())
    sent = at.session_state["conversation"].current.run.requests[0].messages
    tool_message = next(m for m in sent if m["role"] == "tool")
    assert tool_message == {"role": "tool", "tool_call_id": call["id"], "content": '{"temperature_c": 18}'}
    assert '{"temperature_c": 18}' in at.session_state["conversation"].current.run.states[0].content, "the demo used the typed result"
    assert NO_TOOL_RESULT not in json.dumps(sent)


def test_demo_costs_are_labelled_simulated_on_the_card(app: Any) -> None:
    at = app.run()
    at.multiselect(key="compare_models").set_value(["local/demo-fast"])
    at.text_area(key="prompt").set_value("hi")
    at = wait_for_run(at.button(key="run-button").click().run())
    assert re.search(r":violet-badge\[\\\$[0-9.]+ simulated\]", _cards(at))


def test_markdown_export_of_a_follow_up_keeps_earlier_turns_and_parameters_and_csv_rounds(app: Any, data_dir: Path) -> None:
    from app.history.export import to_csv, to_json, to_markdown

    at = app.run()
    at.multiselect(key="compare_models").set_value(["local/demo-fast", "local/demo-thinker"]).run()
    at.number_input(key="param-temperature::local/demo-fast").set_value(0.3)
    at.text_area(key="prompt").set_value("First question about SQLite")
    at = wait_for_run(at.button(key="run-button").click().run())
    at.text_area(key="prompt").set_value("Second question, a follow-up")
    at = wait_for_run(at.button(key="run-button").click().run())
    store = history_store(data_dir)
    follow_up = next(v for v in store.search() if v.run.parent_id)
    markdown = to_markdown([store.get(follow_up.run.id)])
    assert "Second question, a follow-up" in markdown
    assert "**Earlier in this conversation**" in markdown and "> First question about SQLite" in markdown
    assert "Parameters: temperature 0.3" in markdown
    assert markdown.count("**Earlier in this conversation**") == 2  # each column's own earlier turn
    rows = list(csv.DictReader(io.StringIO(to_csv([store.get(follow_up.run.id)]))))
    assert all(re.fullmatch(r"0(\.\d{1,8})?", r["cost_usd"]) for r in rows), [r["cost_usd"] for r in rows]
    assert all(re.fullmatch(r"\d+(\.\d{1,3})?", r["total_s"]) for r in rows)
    exported = json.loads(to_json([store.get(follow_up.run.id)]))
    assert all(len(repr(r["cost_usd"])) <= 12 for r in exported["runs"][0]["results"])


def _add_real_call(data_dir: Path, cost: float) -> None:
    from app.history.models import Run, RunResult

    store = history_store(data_dir)
    now = datetime.now(UTC) - timedelta(minutes=5)
    with store.session() as s:
        run = Run(id=uuid.uuid4().hex, user_prompt="real", title="real", status="done", created_at=now, finished_at=now)
        s.add(run)
        s.flush()
        s.add(
            RunResult(
                run_id=run.id,
                position=0,
                backend="openai",
                model="gpt-5",
                endpoint_id="openai-default",
                status="done",
                content="ok",
                prompt_tokens=10,
                completion_tokens=5,
                cached_tokens=0,
                cost_usd=cost,
                ttft_s=0.4,
                total_s=1.0,
                started_at=now,
                finished_at=now,
            )
        )
        s.commit()


def test_usage_leaves_simulated_demo_costs_out_once_real_runs_exist(app: Any, data_dir: Path) -> None:
    from app.history.demo_data import seed_demo_history

    data_dir.mkdir(parents=True, exist_ok=True)
    seed_demo_history(history_store(data_dir), days=3)
    at = app.run().switch_page("app/pages/dashboard.py").run()
    metrics = {m.label: m.value for m in at.metric}
    assert at.toggle[0].label.startswith("Include demo models") and at.toggle[0].value is True, "only demo history: shown"
    assert "Cost (incl. simulated)" in metrics
    assert any("simulated" in c for c in texts(at.caption))

    _add_real_call(data_dir, 0.0123)
    at = app.run().switch_page("app/pages/dashboard.py").run()
    assert at.toggle[0].value is False, "real runs exist: demo costs left out by default"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cost"] == "$0.0123" and metrics["Model calls"] == "1"
    at.toggle[0].set_value(True).run()
    metrics = {m.label: m.value for m in at.metric}
    assert "Cost (incl. simulated)" in metrics and int(metrics["Model calls"].replace(",", "")) > 1


def test_cost_axis_ticks_read_apart_and_a_single_call_is_a_visible_dot() -> None:
    import pandas as pd

    from app.history import dashboard_charts as charts

    assert charts.cost_format(pd.Series([0.00015, 0.00028])) == "$.3~g"
    assert charts.cost_format(pd.Series([3.5])) == "$,.2f"
    one_call = {"min": 1.2, "q1": 1.2, "median": 1.2, "q3": 1.2, "max": 1.2}
    boxes = pd.DataFrame([{"model": "demo-fast", "metric": "total time", "calls": 1, **one_call}])
    spec = charts.latency(boxes, "total time").to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks[-1] == "circle"  # a flat box (one call) still shows as a dot
