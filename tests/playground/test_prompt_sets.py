"""Prompt sets (files, templates, validation), answer diffs and the cost guard, without the UI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from app.compare.answer_diff import compare_answers, diff_html, word_diff
from app.compare.prompt_sets import (
    PromptSetError,
    apply_editor_changes,
    load_for_template,
    parse_upload,
    render,
    render_all,
    template_variables,
    to_csv,
    validate,
)


def _problems(name: str, data: bytes, template: str = "") -> list[str]:
    with pytest.raises(PromptSetError) as caught:
        load_for_template(name, data, template)
    return caught.value.problems


# -- templates -------------------------------------------------------------------------------
def test_variables_are_found_once_in_order_and_rendered() -> None:
    template = "Compare {{ city }} and {{country}}; then {{city}} again. {not} {{ 9bad }}"
    assert template_variables(template) == ["city", "country"]
    assert render(template, {"city": "Paris", "country": "France"}) == "Compare Paris and France; then Paris again. {not} {{ 9bad }}"
    assert render("", {"prompt": "a whole prompt"}) == "a whole prompt"  # no template: plain prompts
    assert render("{{a}}", {"a": "{{b}}", "b": "x"}) == "{{b}}"  # values are not templates


def test_validation_names_missing_variables_unknown_columns_and_empty_cells() -> None:
    problems = validate("{{city}} in {{year}}", ["city", "note"], [{"city": "Paris", "note": ""}, {"city": " ", "note": "x"}])
    assert any(p.startswith("missing variable 'year'") for p in problems)
    assert any(p.startswith("unknown column 'note'") for p in problems)
    assert "row 2, column 'city': missing value for {{city}}" in problems
    assert validate("{{city}}", ["city"], []) == ["the set has no prompts: add a row or upload a file"]
    assert validate("no variables here", ["prompt"], [{"prompt": "x"}])[0].startswith("the template uses no {{variable}}")
    with pytest.raises(PromptSetError):
        render_all("{{city}}", [{"city": ""}])
    assert render_all("Hi {{city}}", [{"city": "Oslo"}]) == ["Hi Oslo"]


def test_editor_changes_apply_edits_deletions_and_additions() -> None:
    base = [{"city": "Paris"}, {"city": "Rome"}, {"city": "Oslo"}]
    changes = {"edited_rows": {"0": {"city": "Lyon"}}, "deleted_rows": [1], "added_rows": [{"city": "Bern"}, {}]}
    assert apply_editor_changes(base, changes, ["city"]) == [{"city": "Lyon"}, {"city": "Oslo"}, {"city": "Bern"}]
    assert apply_editor_changes(base, None, ["city"]) == base


# -- files -----------------------------------------------------------------------------------
def test_csv_jsonl_and_text_files_give_rows() -> None:
    csv_rows = load_for_template("a.csv", '\ufeffcity,lang\nParis,fr\n\n"São, Paulo",pt\n'.encode(), "{{city}} {{lang}}")
    assert csv_rows.rows == [{"city": "Paris", "lang": "fr"}, {"city": "São, Paulo", "lang": "pt"}]
    jsonl = load_for_template("a.jsonl", b'{"n": 1, "ok": true}\n\n{"n": 2.5, "ok": false}\n', "{{n}} {{ok}}")
    assert jsonl.rows == [{"n": "1", "ok": "true"}, {"n": "2.5", "ok": "false"}]
    text = load_for_template("a.txt", b"first prompt\n\n  second prompt  \n", "")
    assert text.columns == ["prompt"] and [r["prompt"] for r in text.rows] == ["first prompt", "second prompt"]
    one = load_for_template("a.txt", b"Paris\nRome\n", "Tell me about {{city}}")  # one value a line feeds one variable
    assert one.rows == [{"city": "Paris"}, {"city": "Rome"}]
    assert _problems("a.csv", b"town\nParis\n", "About {{city}}")[0].startswith("missing variable 'city'")  # a named column is not renamed


def test_bad_files_name_the_row_and_column() -> None:
    assert _problems("a.csv", b"city,lang\nParis\nRome,it,extra\n", "{{city}} {{lang}}") == [
        "row 1 (line 2), column 'lang': missing value",
        "row 2 (line 3): 3 values but only 2 columns (city, lang)",
    ]
    assert _problems("a.csv", b"city,,city\nx,y,z\n", "{{city}}") == ["column 2 has no name", "column 3 'city' appears twice"]
    assert _problems("a.csv", b"my city\nx\n", "{{city}}")[0].startswith("column 1 'my city': a variable name is letters")
    assert _problems("a.jsonl", b'{"city": "x"}\n[1, 2]\n{"city": ', "{{city}}") == [
        'row 2 (line 2): expected an object like {"name": "value"}, got list',
        "row 3 (line 3): not valid JSON (Expecting value at column 10)",
    ]
    assert _problems("a.txt", b"ok\n\xff\xfe broken\n")[0].startswith("the file is not UTF-8 text: line 2, byte 4")
    assert "too large" in _problems("a.txt", b"x\n" * 1_500_000)[0]
    assert "too many rows" in _problems("a.txt", b"x\n" * 1001)[0]
    assert _problems("a.csv", b"", "{{city}}") == ["the CSV file is empty: its first row names the variables"]
    assert _problems("a.csv", b"city,lang\nParis,fr\n", "")[0].startswith("a.csv has the columns city, lang: write a prompt template")
    assert _problems("a.csv", b"town\nParis\n", "{{city}} {{town}} {{x}}")[:2] == [
        "missing variable 'city': the template uses {{city}} but the set has no 'city' column (columns: 'town')",
        "missing variable 'x': the template uses {{x}} but the set has no 'x' column (columns: 'town')",
    ]


def test_a_set_survives_a_csv_round_trip() -> None:
    rows = [{"q": 'He said "hi", then left\nfor good'}, {"q": "=1+1"}]
    parsed = parse_upload("set.csv", to_csv(["q"], rows).encode())
    assert parsed.rows == rows


# -- diffs -----------------------------------------------------------------------------------
def test_word_diff_marks_whole_words_and_escapes_model_markup() -> None:
    pieces = word_diff("The cat sat on the mat.", "The dog sat on the <script>alert(1)</script> mat.")
    assert ("delete", "cat") in pieces and ("insert", "dog") in pieces
    html = diff_html(pieces)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<del class="vv-diff-del">cat</del>' in html and '<ins class="vv-diff-ins">dog</ins>' in html
    assert "".join(t for op, t in pieces if op != "insert") == "The cat sat on the mat."
    assert "".join(t for op, t in pieces if op != "delete") == "The dog sat on the <script>alert(1)</script> mat."
    assert compare_answers("same words", "same words").identical


def test_json_answers_are_compared_field_by_field_and_checked_against_the_schema() -> None:
    a = json.dumps({"name": "Paris", "population": 2.1, "tags": ["fr", "capital"], "old": 1})
    b = "```json\n" + json.dumps({"name": "Paris", "population": "2.1M", "tags": ["fr"], "new": True}) + "\n```"
    schema = {"type": "object", "properties": {"population": {"type": "number"}}, "required": ["name", "population"]}
    diff = compare_answers(a, b, {"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}["json_schema"]["schema"])
    assert diff.mode == "json"
    found = {(f.path, f.kind) for f in diff.fields}
    assert found == {("$.population", "changed"), ("$.tags[1]", "only_a"), ("$.old", "only_a"), ("$.new", "only_b")}
    assert diff.a.valid is True
    assert diff.b.valid is False and diff.b.schema_errors == ["$.population: '2.1M' is not of type 'number'"]
    broken = compare_answers('{"a": 1}', "not json at all", schema)
    assert broken.mode == "json" and not broken.b.parses and broken.b.parse_error and broken.words  # words shown instead
    assert compare_answers("plain text", "other text").mode == "words"


# -- cost guard ------------------------------------------------------------------------------
@pytest.fixture
def demo_settings() -> Iterator[Any]:
    from vv_llm.settings import settings
    from vv_llm.testing.demo import DemoBackend, demo_settings_dict

    with DemoBackend(pace=0.05) as demo:
        settings.load(demo_settings_dict(demo.server))
        yield demo
    settings.reset()


def test_the_estimate_counts_prompts_with_vv_llm_and_bounds_output_by_max_tokens(demo_settings: Any) -> None:
    from app.compare.matrix import MatrixSpec, estimate
    from vv_llm.testing.demo import DEMO_PRICES
    from vv_llm.utilities.tokens import get_message_token_counts

    spec = MatrixSpec(
        models=["local/demo-fast", "local/demo-thinker"], rows=[{"c": "Paris"}, {"c": "Rome"}], template="About {{c}}", max_tokens=100
    )
    guess = estimate(spec)
    counted = sum(get_message_token_counts(spec.messages(r), None, "demo-fast", "local") for r in range(2))
    fast = guess.models[0]
    assert (fast.calls, fast.prompt_tokens, fast.max_output_tokens) == (2, counted, 200)
    assert fast.input_cost == pytest.approx(counted * DEMO_PRICES["input"] / 1e6)
    assert fast.upper_cost == pytest.approx((counted * DEMO_PRICES["input"] + 200 * DEMO_PRICES["output"]) / 1e6)
    assert guess.upper_cost == pytest.approx(sum(m.upper_cost or 0 for m in guess.models))
    assert not guess.over_budget(None) and not guess.over_budget(1.0) and guess.over_budget(guess.upper_cost * 0.99)
    only_fast = estimate(spec, [(1, 0)])  # a resume prices only the cells it sends
    assert [m.ref for m in only_fast.models] == ["local/demo-fast"] and only_fast.models[0].calls == 1
    spec.max_tokens = 10_000_000
    assert estimate(spec).models[0].max_output_tokens == 2 * 4096  # clamped to the model's max output, as the engine does


def test_a_model_without_prices_makes_the_bound_unknown_and_a_budget_asks_for_confirmation(demo_settings: Any) -> None:
    from app.compare.cost_guard import estimate_run
    from vv_llm.settings import settings

    data = settings.model.model_dump(exclude_unset=True)
    data["backends"]["local"]["models"]["demo-fast"].pop("prices")
    settings.load(data)
    guess = estimate_run([("local", "demo-fast")], [[{"role": "user", "content": "hi"}]], 50)
    assert guess.upper_cost is None and guess.unknown == ["local/demo-fast"]
    assert "no prices" in (guess.models[0].problem or "")
    assert guess.over_budget(100.0) and not guess.over_budget(None)
