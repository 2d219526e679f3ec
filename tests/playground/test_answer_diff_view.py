"""The diff view: under a finished Compare run, and field by field for JSON answers."""

from __future__ import annotations

from typing import Any

from playground_helpers import texts, wait_for_run


def test_compare_offers_a_word_diff_of_two_answers_once_the_run_finished(app: Any) -> None:
    at = app.run()
    at.multiselect(key="compare_models").set_value(["local/demo-fast", "local/demo-thinker"])
    at.text_area(key="prompt").set_value("Say <img src=x onerror=alert(1)> twice")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    assert not at.exception, at.exception
    assert at.selectbox(key="compare-diff-a").value == 0 and at.selectbox(key="compare-diff-b").value == 1
    html = "\n".join(h.proto.body for h in at.html)
    assert '<div class="vv-diff">' in html and "<ins" in html and "<del" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html  # the prompt the demo models quote stays text
    at.selectbox(key="compare-diff-b").set_value(0).run()
    assert any("identical" in t for t in texts(at.success))


def _json_diff_app() -> None:
    from app.ui.diff import render_answer_diff

    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "number"}},
        "required": ["city", "population"],
    }
    render_answer_diff(
        '{"city": "Paris", "population": 2.1, "river": "Seine"}',
        '```json\n{"city": "Paris", "population": "about 2 million", "country": "France"}\n```',
        schema,
        labels=("gpt", "claude"),
    )


def test_json_answers_get_a_field_table_and_schema_verdicts() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_json_diff_app, default_timeout=60).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert sorted(zip(table["field"], table["difference"], strict=True)) == [
        ("$.country", "only in B"),
        ("$.population", "differs"),
        ("$.river", "only in A"),
    ]
    assert table.set_index("field").loc["$.population", "claude"] == '"about 2 million"'
    verdicts = "\n".join(texts(at.markdown))
    assert ":green[valid against the schema]" in verdicts and ":red[invalid against the schema]" in verdicts
    assert "is not of type" in verdicts
