"""Show the difference between two answers (used by Compare and by a matrix row).

The word diff goes through ``st.html`` as HTML built by ``app.compare.answer_diff``, in which every piece of
model text is escaped; the JSON view is a table of fields.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.compare.answer_diff import AnswerDiff, ParsedAnswer, compare_answers, diff_html, diff_stats, short_json
from app.ui.common import md_escape

DIFF_STYLE = (
    "<style>.vv-diff{font-family:var(--font,inherit);line-height:1.55;white-space:normal;padding:.5rem .75rem;"
    "border:1px solid rgba(128,128,128,.3);border-radius:.5rem;max-height:28rem;overflow:auto}"
    ".vv-diff ins{background:rgba(33,195,84,.22);text-decoration:none}"
    ".vv-diff del{background:rgba(255,75,75,.22);text-decoration:line-through}</style>"
)
KINDS = {"only_a": "only in A", "only_b": "only in B", "changed": "differs"}


def _json_status(label: str, answer: ParsedAnswer) -> str:
    if not answer.parses:
        return f"**{md_escape(label)}**: :red[not JSON] — {md_escape(answer.parse_error or '')}"
    text = f"**{md_escape(label)}**: :green[parses]"
    if answer.valid is True:
        text += " · :green[valid against the schema]"
    elif answer.valid is False:
        shown = "; ".join(answer.schema_errors[:3]) + (" …" if len(answer.schema_errors) > 3 else "")
        text += f" · :red[invalid against the schema] — {md_escape(shown)}"
    return text


def render_answer_diff(
    a: str, b: str, schema: dict[str, Any] | None = None, *, labels: tuple[str, str] = ("A", "B"), key: str = "diff"
) -> AnswerDiff:
    """Draw the diff of answer ``a`` → ``b`` (``st-key-{key}`` is its CSS handle) and return it."""
    diff = compare_answers(a, b, schema)
    with st.container(key=key):
        if diff.mode == "json":
            st.markdown(_json_status(labels[0], diff.a) + "  \n" + _json_status(labels[1], diff.b))
        if diff.mode == "json" and diff.a.parses and diff.b.parses:
            if not diff.fields:
                st.success("Same JSON: every field is equal.", icon=":material/check:")
            else:
                st.caption(f"{len(diff.fields)} field difference(s)")
                rows = [
                    {"field": f.path, "difference": KINDS[f.kind], labels[0]: short_json(f.a), labels[1]: short_json(f.b)}
                    for f in diff.fields
                ]
                st.dataframe(rows, hide_index=True, width="stretch")
            return diff
        stats = diff_stats(diff.words)
        if diff.identical:
            st.success("The two answers are identical.", icon=":material/check:")
        else:
            st.caption(
                f"Word diff {labels[0]} → {labels[1]}: :green[+{stats['insert']} words] · :red[−{stats['delete']} words] · {stats['equal']} unchanged"
            )
        st.html(DIFF_STYLE + f'<div class="vv-diff">{diff_html(diff.words)}</div>')
    return diff


def render_diff_picker(labels: list[str], answers: list[str], *, schema: dict[str, Any] | None = None, key: str = "answer-diff") -> None:
    """An expander to pick two of ``answers`` (by ``labels``) and see their diff; nothing when fewer than two have text."""
    choices = [i for i, text in enumerate(answers) if text]
    if len(choices) < 2:
        return
    with st.expander("Diff two answers", icon=":material/difference:", key=f"{key}-box"):
        c1, c2 = st.columns(2)
        a = c1.selectbox("Answer A", choices, format_func=lambda i: f"{i + 1}. {labels[i]}", key=f"{key}-a")
        b = c2.selectbox("Answer B", choices, index=1, format_func=lambda i: f"{i + 1}. {labels[i]}", key=f"{key}-b")
        render_answer_diff(answers[a], answers[b], schema, labels=(f"{a + 1}. {labels[a]}", f"{b + 1}. {labels[b]}"), key=f"{key}-view")
