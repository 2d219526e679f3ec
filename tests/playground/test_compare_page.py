"""Compare page, driven through Streamlit's AppTest on the offline demo models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playground_helpers import history_store, texts, wait_for_run


def _run(at: Any, prompt: str, models: list[str] | None = None) -> Any:
    at.run()
    if models is not None:
        at.multiselect(key="compare_models").set_value(models)
    at.text_area(key="prompt").set_value(prompt)
    at.button(key="run-button").click().run()
    assert not at.exception, at.exception
    return wait_for_run(at)


def test_demo_mode_preselects_three_demo_models(app: Any) -> None:
    at = app.run()
    assert not at.exception
    assert at.multiselect(key="compare_models").value == ["local/demo-fast", "local/demo-thinker", "local/demo-tools"]
    assert any("Demo mode" in text for text in texts(at.info))


def test_compare_three_demo_models_gives_one_completed_result_per_column_and_a_history_row(app: Any, data_dir: Path) -> None:
    at = _run(app, "Explain RAG in one line")
    run = at.session_state["conversation"].current.run
    states = run.snapshot()
    assert [s.status for s in states] == ["done", "done", "done"]
    assert all(s.usage and s.usage["completion_tokens"] > 0 for s in states)
    assert all(s.ttft is not None and s.total is not None and s.cost is not None for s in states)
    assert states[1].reasoning, "demo-thinker reasons"
    assert states[2].tool_calls and states[2].tool_calls[0]["function"]["name"] == "web_search"

    page = "\n".join(texts(at.markdown))
    assert page.count("Done]") == 3  # one green "Done" badge per column
    assert "Short answer" in page and "Answer to" in page and "Tool call" in page
    assert any("TTFT" in t and "tok/s" in t for t in texts(at.markdown))

    views = history_store(data_dir).search()
    assert len(views) == 1
    view = views[0]
    assert view.run.id == run.id and view.run.status == "done"
    assert view.run.user_prompt == "Explain RAG in one line"
    assert [(r.result.model, r.result.status) for r in view.results] == [
        ("demo-fast", "done"),
        ("demo-thinker", "done"),
        ("demo-tools", "done"),
    ]
    for r in view.results:
        assert r.messages[0] == {"role": "user", "content": "Explain RAG in one line"}
        assert r.messages[-1]["role"] == "assistant"
        assert r.result.completion_tokens and r.result.ttft_s is not None and r.result.total_s is not None
        assert r.result.cost_usd is not None and r.result.cost_usd > 0
    assert view.results[1].result.reasoning
    assert json.loads(view.results[2].result.tool_calls or "[]")[0]["function"]["name"] == "web_search"


def test_follow_up_continues_each_columns_own_conversation(app: Any, data_dir: Path) -> None:
    at = _run(app, "First question", ["local/demo-fast", "local/demo-tools"])
    first = at.session_state["conversation"].current.run
    assert at.button(key="run-button").label == "Send follow-up"
    at.text_area(key="prompt").set_value("And a second one?")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    conversation = at.session_state["conversation"]
    assert len(conversation.turns) == 2
    second = conversation.current.run
    assert [s.status for s in second.snapshot()] == ["done", "done"]

    fast, tools = second.requests
    assert [m["role"] for m in fast.messages] == ["user", "assistant", "user"]
    assert fast.messages[1]["content"] == first.states[0].content
    # demo-tools called a tool: its conversation answers the call before the next question
    assert [m["role"] for m in tools.messages] == ["user", "assistant", "tool", "user"]
    assert tools.messages[2]["tool_call_id"] == first.states[1].tool_calls[0]["id"]

    stored = history_store(data_dir).get(second.id)
    assert stored is not None and stored.run.parent_id == first.id
    assert [m["role"] for m in stored.results[0].messages] == ["user", "assistant", "user", "assistant"]
    # the earlier turn is shown, collapsed, in each column
    assert any("Earlier in this conversation" in e.label for e in at.expander)


def test_a_failing_model_shows_its_error_and_partial_text_while_the_others_finish(app: Any, data_dir: Path) -> None:
    at = _run(app, "Tell me something", ["local/demo-fast", "local/demo-flaky"])
    fast, flaky = at.session_state["conversation"].current.run.snapshot()
    assert fast.status == "done"
    assert flaky.status == "partial" and flaky.content and flaky.error_type == "PartialStreamError"
    # the provider bills what it generated: counted locally and marked as an estimate
    assert flaky.usage_estimated and flaky.usage and flaky.usage["completion_tokens"] > 0 and flaky.cost
    assert any("≈ out" in t and "estimated" in t for t in texts(at.markdown))
    warnings = texts(at.warning)
    assert any("Partial answer" in w and "PartialStreamError" in w for w in warnings)
    stored = history_store(data_dir).search()[0]
    assert stored.run.status == "partial"
    assert stored.results[1].result.status == "partial"
    assert stored.results[1].result.content == flaky.content  # what arrived is kept
    assert stored.results[1].result.usage_estimated and stored.results[1].result.cost_usd == flaky.cost
    assert not stored.results[0].result.usage_estimated


def test_an_unreachable_endpoint_is_a_typed_error_box(app: Any, data_dir: Path, monkeypatch: Any) -> None:
    from vv_llm.testing import unused_port

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(
        json.dumps(
            {
                "VERSION": "2",
                "endpoints": [{"id": "dead", "api_base": f"http://127.0.0.1:{unused_port()}/v1"}],
                "backends": {"local": {"models": {"offline-box": {"endpoints": ["dead"]}}}},
                "retry": {"max_attempts": 1},
            }
        )
    )
    monkeypatch.setenv("VV_LLM_DEMO", "on")
    at = _run(app, "Hello?", ["local/demo-fast", "local/offline-box"])
    fast, dead = at.session_state["conversation"].current.run.snapshot()
    assert fast.status == "done"
    assert dead.status == "error" and dead.error_type == "APIConnectionError"
    assert any("APIConnectionError" in e for e in texts(at.error))
    assert history_store(data_dir).search()[0].results[1].result.error_type == "APIConnectionError"


def test_stop_cancels_running_streams_and_keeps_what_arrived(app: Any, data_dir: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("VV_LLM_DEMO_PACE", "20")  # slow enough that nothing finishes before Stop
    at = app.run()
    at.multiselect(key="compare_models").set_value(["local/demo-fast", "local/demo-slow"])
    at.text_area(key="prompt").set_value("Take your time")
    at.button(key="run-button").click().run()
    assert at.button(key="stop-button").disabled is False
    at.button(key="stop-button").click().run()
    at = wait_for_run(at)
    states = at.session_state["conversation"].current.run.snapshot()
    assert [s.status for s in states] == ["stopped", "stopped"]
    assert any("Stopped" in t for t in texts(at.info))
    stored = history_store(data_dir).search()[0]
    assert [r.result.status for r in stored.results] == ["stopped", "stopped"]
    assert stored.run.status == "partial"


def test_invalid_tools_json_is_reported_and_nothing_runs(app: Any, data_dir: Path) -> None:
    at = app.run()
    at.toggle(key="tools_on").set_value(True).run()
    at.text_area(key="tools_json").set_value("[{not json")
    at.text_area(key="prompt").set_value("hi")
    at.button(key="run-button").click().run()
    assert any("tools are not valid JSON" in e for e in texts(at.error))
    assert at.session_state["conversation"] is None if "conversation" in at.session_state else True
    assert history_store(data_dir).count() == 0


def test_tools_are_sent_and_the_demo_calls_the_declared_one(app: Any) -> None:
    at = app.run()
    at.toggle(key="tools_on").set_value(True).run()
    at.multiselect(key="compare_models").set_value(["local/demo-fast", "local/demo-tools"])
    at.text_area(key="prompt").set_value("Weather in Paris?")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    run = at.session_state["conversation"].current.run
    assert run.requests[1].options["tools"][0]["function"]["name"] == "get_weather"
    call = run.states[1].tool_calls[0]["function"]
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Weather in Paris?"}


def test_per_column_parameters_reach_the_request(app: Any) -> None:
    at = app.run()
    at.multiselect(key="compare_models").set_value(["local/demo-fast", "local/demo-thinker"]).run()
    at.number_input(key="param-temperature::local/demo-fast").set_value(0.2)
    at.number_input(key="param-max_tokens::local/demo-thinker").set_value(300)
    at.radio(key="param-thinking::local/demo-thinker").set_value("on")
    at.text_area(key="prompt").set_value("Params?")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    fast, thinker = at.session_state["conversation"].current.run.requests
    assert fast.options == {"temperature": 0.2}
    assert thinker.options == {"max_tokens": 300, "thinking": True}
    # a browser that remounts these inputs (a rerun interrupting the run that drew them) falls back
    # to the element's default: that is the value set, not min_value (temperature 0, max tokens 1)
    assert at.number_input(key="param-temperature::local/demo-fast").proto.default == 0.2
    assert at.number_input(key="param-max_tokens::local/demo-thinker").proto.default == 300
    assert not at.number_input(key="param-max_tokens::local/demo-fast").proto.default  # unset: model default
    assert at.radio(key="param-thinking::local/demo-thinker").proto.default == 1  # "on"
    models = at.multiselect(key="compare_models")
    assert len(models.proto.default) == 2 and list(models.proto.default) == list(models.indices)


def test_model_output_html_is_shown_as_text_not_rendered(app: Any) -> None:
    at = _run(app, "<img src=x onerror=alert(1)> hi", ["local/demo-fast", "local/demo-tools"])
    with_html = [m for m in at.markdown if "<img src=x" in str(m.value)]
    assert with_html, "the demo echoes the prompt into its answer"
    assert all(not m.proto.allow_html for m in with_html)
