"""Prompt sets & matrix page through AppTest: the editor, upload errors, the cost guard, a run, the diff."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from playground_helpers import history_store, page_source, texts

CSV = b"city\nParis\nRome\nOslo\n"


def unescape(markdown: str) -> str:
    """Text as shown: without the backslashes that escape Markdown."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _page(app: Any) -> Any:
    at = app.run()
    at.switch_page("app/pages/matrix.py").run()
    assert not at.exception, at.exception
    return at


def _upload(at: Any, name: str, data: bytes) -> Any:
    at.file_uploader[0].set_value((name, data, "text/plain")).run()
    assert not at.exception, at.exception
    return at


def _editor(at: Any) -> Any:
    editors = [d for d in at.dataframe if d.proto.editing_mode]
    assert len(editors) == 1
    return editors[0]


def _table(at: Any, column: str) -> Any:
    """The read-only table that has ``column``."""
    found = [d.value for d in at.dataframe if not d.proto.editing_mode and column in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def _wait(at: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        run = at.session_state["matrix_run"]
        if run.wait(0.2):
            return at.run()
        if time.monotonic() > deadline:
            raise AssertionError("the matrix run did not finish")
        at.run()


def test_the_editor_has_one_column_per_template_variable(app: Any) -> None:
    at = _page(app)
    assert list(_editor(at).value.columns) == ["prompt"]  # no template: plain prompts
    at.text_area(key="set_template").set_value("Tell {{audience}} about {{city}}").run()
    assert list(_editor(at).value.columns) == ["audience", "city"]
    problems = "\n".join(texts(at.warning))
    assert "the set has no prompts" not in problems  # an empty table is not yet an error to shout about
    assert at.button(key="matrix-run-button").disabled


def test_an_uploaded_csv_fills_the_editor(app: Any) -> None:
    at = _page(app)
    at.text_area(key="set_template").set_value("One fact about {{city}}.").run()
    at = _upload(at, "cities.csv", CSV)
    assert any("Loaded 3 rows from cities.csv" in t for t in texts(at.success))
    assert _editor(at).value["city"].tolist() == ["Paris", "Rome", "Oslo"]
    assert not at.button(key="matrix-run-button").disabled


def test_bad_uploads_name_the_row_and_column_and_change_nothing(app: Any) -> None:
    at = _page(app)
    at.text_area(key="set_template").set_value("One fact about {{city}}.").run()
    at = _upload(at, "cities.csv", CSV)
    cases = [
        ("wrong.csv", b"town,city\nParis,x\n", ["unknown column 'town'"]),
        ("other.csv", b"town,country\nParis,France\n", ["missing variable 'city'", "unknown column 'country'"]),
        ("gaps.csv", b"city\nParis\n \n", []),
        ("empty-value.jsonl", b'{"city": "Paris"}\n{"city": ""}\n', ["row 2, column 'city': missing value"]),
        ("ragged.csv", b"city,country\nParis,France\nRome\n", ["row 2 (line 3), column 'country': missing value"]),
        ("latin1.csv", "city\nS\u00e3o Paulo\n".encode("latin-1"), ["not UTF-8 text: line 2"]),
        ("broken.jsonl", b'{"city": "Paris"}\n{"city": \n', ["row 2 (line 2): not valid JSON"]),
        ("nested.jsonl", b'{"city": {"name": "Paris"}}\n', ["row 1 (line 1), column 'city': must be text or a number"]),
        ("huge.txt", b"x" * 2_000_001, ["too large"]),
    ]
    for name, data, expected in cases:
        at = _upload(at, name, data)
        if not expected:  # a good file (blank lines skipped) replaces the rows; put the three back
            assert _editor(at).value["city"].tolist() == ["Paris"]
            at = _upload(at, "cities.csv", CSV)
            continue
        shown = unescape("\n".join(texts(at.error)))
        assert f"**{name}** was not loaded" in shown
        for phrase in expected:
            assert phrase in shown, (name, shown)
        assert _editor(at).value["city"].tolist() == ["Paris", "Rome", "Oslo"], name  # nothing was replaced
        assert not at.button(key="matrix-run-button").disabled  # the set in the editor is still good to run


def test_the_cost_guard_blocks_a_run_over_budget_until_confirmed(app: Any, data_dir: Path) -> None:
    at = _page(app)
    at.text_area(key="set_template").set_value("One fact about {{city}}.").run()
    at = _upload(at, "cities.csv", CSV)
    at.multiselect(key="matrix_models").set_value(["local/demo-fast", "local/demo-thinker"]).run()
    estimate = _table(at, "cost (upper bound)")
    assert estimate["model"].tolist() == ["local/demo-fast", "local/demo-thinker"]
    assert estimate["calls"].tolist() == [3, 3]
    assert all(estimate["prompt tokens"] > 0)
    assert any("Estimated cost: at most" in t for t in texts(at.markdown))
    at.number_input(key="matrix_budget").set_value(0.000001).run()
    assert any("Over budget" in t for t in texts(at.warning))
    assert at.button(key="matrix-run-button").disabled
    assert "matrix_run" not in at.session_state
    at.checkbox(key="matrix_confirm").check().run()
    assert not at.button(key="matrix-run-button").disabled
    at.button(key="matrix-run-button").click().run()
    assert not at.exception, at.exception
    at = _wait(at)
    run = at.session_state["matrix_run"]
    assert run.status == "done" and run.progress().done == 6
    assert sorted(s.status for s in run.cells().values()) == ["done"] * 6
    assert any("6 / 6 cells" in str(p.proto.text) for p in at.get("progress"))
    summary = _table(at, "median TTFT")
    assert summary["finished"].tolist() == ["3 / 3", "3 / 3"]
    view = history_store(data_dir).get(run.id)
    assert view is not None and view.matrix is not None and len(view.results) == 6
    assert view.matrix.row.estimate_usd is not None and view.matrix.row.budget_usd == 0.000001


def test_the_diff_of_two_answers_in_a_row_escapes_model_markup(app: Any) -> None:
    at = _page(app)
    at.text_area(key="set_template").set_value("Say <b>{{word}}</b>").run()
    at = _upload(at, "words.csv", b"word\nhello\n")
    at.multiselect(key="matrix_models").set_value(["local/demo-fast", "local/demo-thinker"]).run()
    at.button(key="matrix-run-button").click().run()
    at = _wait(at)
    html = "\n".join(h.proto.body for h in at.html)
    assert "<ins" in html and "<del" in html
    assert "&lt;b&gt;" in html and "<b>hello" not in html  # the demo answers quote the prompt: its markup stays text
    assert any("Word diff" in t for t in texts(at.caption))


def test_stop_then_resume_from_the_page_sends_only_the_missing_cells(app: Any, data_dir: Path) -> None:
    at = _page(app)
    at.text_area(key="set_template").set_value("One fact about {{city}}.").run()
    at = _upload(at, "cities.csv", CSV)
    at.multiselect(key="matrix_models").set_value(["local/demo-fast", "local/demo-slow"]).run()
    at.number_input(key="matrix_concurrency").set_value(1).run()
    at.button(key="matrix-run-button").click().run()
    first = at.session_state["matrix_run"]
    while first.progress().done < 1:
        first.wait(0.05)
    at.button(key="matrix-stop").click().run()
    at = _wait(at)
    assert first.status == "stopped" and not at.button(key="matrix-resume").disabled
    answered = {c for c, s in first.cells().items() if s.status == "done"}
    assert answered and len(answered) < 6
    at.button(key="matrix-resume").click().run()
    assert not at.exception, at.exception
    resumed = at.session_state["matrix_run"]
    assert resumed is not first and resumed.id == first.id
    assert set(resumed.sending) == {(r, m) for r in range(3) for m in range(2)} - answered
    at = _wait(at)
    assert resumed.status == "done" and resumed.progress().done == 6
    assert any("6 / 6 cells" in str(p.proto.text) for p in at.get("progress"))


def test_history_lists_the_matrix_run_and_opens_it_on_the_matrix_page(app: Any, data_dir: Path) -> None:
    at = _page(app)
    at.text_area(key="set_template").set_value("One fact about {{city}}.").run()
    at = _upload(at, "cities.csv", CSV)
    at.button(key="matrix-run-button").click().run()
    at = _wait(at)
    run_id = at.session_state["matrix_run"].id
    at.session_state["matrix_run"] = None
    at.switch_page("app/pages/history.py").run()
    assert not at.exception, at.exception
    assert "Matrix 3 × 2 · Done" in page_source(at)
    at.button(key=f"open-{run_id}").click().run()
    assert not at.exception, at.exception
    opened = at.session_state["matrix_run"]
    assert opened.id == run_id and opened.status == "done" and len(opened.cells()) == 6
    assert at.text_area(key="set_template").value == "One fact about {{city}}."
    assert _editor(at).value["city"].tolist() == ["Paris", "Rome", "Oslo"]


def test_a_planted_key_reaches_no_cell_page_export_or_database_row(app: Any, data_dir: Path, fake_llm_server: Any) -> None:
    import json

    from app.history.export import FORMATS
    from vv_llm.testing import Reply, echo_responder

    key = "sk-PLANTED-matrix-key-0123456789abcdef"
    fake_llm_server.api_keys = {key}
    fake_llm_server.responder = lambda info: (
        Reply.error(401, f"Incorrect API key provided: {key}.") if info.model == "echoing" else echo_responder(info)
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(
        json.dumps(
            {
                "VERSION": "2",
                "endpoints": [{"id": "planted", "api_base": fake_llm_server.url("/v1"), "api_key": key}],
                "backends": {"local": {"models": {"planted-model": {"endpoints": ["planted"]}, "echoing": {"endpoints": ["planted"]}}}},
                "retry": {"max_attempts": 1},
            }
        )
    )
    at = _page(app)
    at.text_area(key="set_template").set_value("Is {{thing}} safe?").run()
    at = _upload(at, "things.txt", b"my key\n")
    at.multiselect(key="matrix_models").set_value(["local/planted-model", "local/echoing"]).run()
    at.button(key="matrix-run-button").click().run()
    at = _wait(at)
    states = at.session_state["matrix_run"].cells()
    assert states[(0, 0)].status == "done" and states[(0, 1)].error_type == "AuthenticationError"
    assert "Incorrect API key provided" in (states[(0, 1)].error_message or "")
    sources = [page_source(at)]
    at.switch_page("app/pages/history.py").run()
    sources.append(page_source(at))
    runs = history_store(data_dir).search()
    exports = [f.render(runs) for f in FORMATS.values()]
    database = b"".join(p.read_bytes() for p in data_dir.glob("history.db*"))
    assert all(key not in text for text in sources + exports) and key.encode() not in database


def test_a_set_is_saved_by_name_reopened_edited_and_deleted_on_the_page(app: Any, data_dir: Path) -> None:
    from app.history.matrix_store import MatrixStore

    at = _page(app)
    at.text_input(key="set_name").set_value("Capitals")
    at.text_area(key="set_template").set_value("One fact about {{city}}.").run()
    at = _upload(at, "cities.csv", CSV)
    at.button(key="set-save").click().run()
    assert any("Saved “Capitals”" in t for t in texts(at.success))
    at.button(key="set-new").click().run()
    assert at.text_area(key="set_template").value == "" and list(_editor(at).value.columns) == ["prompt"]
    assert _editor(at).value.empty
    assert at.selectbox(key="set_choice").options == ["—", "Capitals"]
    saved = MatrixStore(history_store(data_dir)).list_sets()
    assert [(s.name, s.template) for s in saved] == [("Capitals", "One fact about {{city}}.")]
    at.selectbox(key="set_choice").set_value(saved[0].id).run()
    at.button(key="set-open").click().run()
    assert at.text_input(key="set_name").value == "Capitals"
    assert at.text_area(key="set_template").value == "One fact about {{city}}."
    assert _editor(at).value["city"].tolist() == ["Paris", "Rome", "Oslo"]
    at.text_input(key="set_name").set_value("Capitals (edited)")
    at.text_area(key="set_template").set_value("Two facts about {{city}}.").run()
    at.button(key="set-save").click().run()
    assert any("Saved “Capitals (edited)”" in t for t in texts(at.success))
    edited = MatrixStore(history_store(data_dir)).list_sets()
    assert [(s.id, s.name, s.template) for s in edited] == [(saved[0].id, "Capitals (edited)", "Two facts about {{city}}.")]
    at.button(key="set-delete").click().run()
    assert any("Deleted the prompt set" in t for t in texts(at.success))
    assert at.selectbox(key="set_choice").options == ["—"]


def test_a_browser_that_redraws_the_settings_falls_back_to_their_current_values(app: Any) -> None:
    """Under load a rerun can interrupt the run that drew a widget; the browser then mounts it at
    the element's default and sends that back. Each setting's default is its current value, so that
    is what comes back: not ``min_value`` (a max output tokens of 1 once reached every cell)."""
    at = _page(app)
    assert at.number_input(key="matrix_max_tokens").proto.default == 512  # a fresh page: the default of 512, not min_value 1
    at.number_input(key="matrix_max_tokens").set_value(2048).run()
    at.number_input(key="matrix_concurrency").set_value(2).run()
    at.number_input(key="matrix_budget").set_value(0.25).run()
    at.text_area(key="set_system").set_value("Answer in French.").run()
    assert at.number_input(key="matrix_max_tokens").proto.default == 2048
    assert at.number_input(key="matrix_concurrency").proto.default == 2
    assert at.number_input(key="matrix_budget").proto.default == 0.25
    assert at.text_area(key="set_system").proto.default == "Answer in French."
