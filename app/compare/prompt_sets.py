"""Prompt sets: a template with ``{{variables}}`` and rows of values, typed or uploaded.

Uploads are CSV (a header row names the variables), JSONL (one object per line) or plain text
(one prompt per line). Every problem is reported at once, naming the row and the column, and a set
with a problem is never run::

    parsed = parse_upload("cities.csv", data)        # raises PromptSetError listing every problem
    problems = validate(template, parsed.columns, parsed.rows)
    prompts = render_all(template, parsed.rows)
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

PLAIN_COLUMN = "prompt"
"""The one column of a set of plain prompts (no template)."""
PLAIN_TEMPLATE = "{{prompt}}"
MAX_UPLOAD_BYTES = 2_000_000
MAX_ROWS = 1_000
MAX_SHOWN_PROBLEMS = 20
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PromptSetError(ValueError):
    """A prompt set that cannot be run; ``problems`` lists each one (row and column named)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:MAX_SHOWN_PROBLEMS]
        more = f"\n… and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__("\n".join(shown) + more)


@dataclass
class PromptRows:
    """Variable names (in order) and one dict of values per row."""

    columns: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)
    plain: bool = False
    """From a text file: whole prompts, one a line (no column names of their own)."""


def template_variables(template: str) -> list[str]:
    """The ``{{names}}`` a template uses, in order of first use."""
    seen: dict[str, None] = {}
    for match in _VARIABLE.finditer(template or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def effective_template(template: str) -> str:
    """The template to render: an empty one means plain prompts (``{{prompt}}``)."""
    return template if (template or "").strip() else PLAIN_TEMPLATE


def render(template: str, values: dict[str, Any]) -> str:
    """``template`` with each ``{{name}}`` replaced by ``values[name]`` (raises ``KeyError`` for a missing one)."""
    return _VARIABLE.sub(lambda m: str(values[m.group(1)]), effective_template(template))


def render_all(template: str, rows: list[dict[str, str]]) -> list[str]:
    """Every row's prompt; raises ``PromptSetError`` if the set is not valid."""
    problems = validate(template, columns_of(rows), rows)
    if problems:
        raise PromptSetError(problems)
    return [render(template, row) for row in rows]


def columns_of(rows: list[dict[str, str]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or not str(value).strip()


def validate(template: str, columns: list[str], rows: list[dict[str, str]]) -> list[str]:
    """Every reason this set cannot run (empty when it can): missing variables, unknown columns, empty values."""
    problems: list[str] = []
    text = effective_template(template)
    variables = template_variables(text)
    if not variables:
        return ["the template uses no {{variable}}: leave it empty to run plain prompts, or add e.g. {{question}}"]
    known = ", ".join(repr(c) for c in columns) or "none"
    for name in variables:
        if name not in columns:
            problems.append(
                f"missing variable {name!r}: the template uses {{{{{name}}}}} but the set has no {name!r} column (columns: {known})"
            )
    for name in columns:
        if name not in variables:
            problems.append(f"unknown column {name!r}: the template does not use {{{{{name}}}}} (it uses {', '.join(variables)})")
    if not rows:
        problems.append("the set has no prompts: add a row or upload a file")
    if len(rows) > MAX_ROWS:
        problems.append(f"too many rows: {len(rows)} (at most {MAX_ROWS} a set)")
    for number, row in enumerate(rows, 1):
        for name in variables:
            if name in columns and _blank(row.get(name)):
                problems.append(f"row {number}, column {name!r}: missing value for {{{{{name}}}}}")
    return problems


def clean_rows(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, str]]:
    """Rows from the table editor: values as text, rows left entirely empty dropped."""
    out = []
    for row in rows:
        values = {c: "" if _blank(row.get(c)) else str(row.get(c)) for c in columns}
        if any(values.values()):
            out.append(values)
    return out


def apply_editor_changes(base: list[dict[str, str]], changes: Any, columns: list[str]) -> list[dict[str, str]]:
    """``base`` rows with a ``st.data_editor``'s changes applied (edited, deleted, then added rows), cleaned."""
    rows = [dict(row) for row in base]
    if isinstance(changes, dict):
        for index, edits in (changes.get("edited_rows") or {}).items():
            i = int(index)
            if 0 <= i < len(rows) and isinstance(edits, dict):
                rows[i].update(edits)
        deleted = {int(i) for i in changes.get("deleted_rows") or []}
        rows = [row for i, row in enumerate(rows) if i not in deleted]
        rows += [dict(row) for row in changes.get("added_rows") or [] if isinstance(row, dict)]
    return clean_rows(rows, columns)


def remap_rows(rows: list[dict[str, str]], columns: list[str]) -> list[dict[str, str]]:
    """Rows for new columns: values of columns that stay are kept; a lone old column feeds a lone new one."""
    old = columns_of(rows)
    if len(old) == 1 and len(columns) == 1 and old != columns:
        return [{columns[0]: row.get(old[0], "")} for row in rows]
    return [{c: row.get(c, "") for c in columns} for row in rows]


# -- files ---------------------------------------------------------------------------------
def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PromptSetError(
            [f"the file is not UTF-8 text: line {line}, byte {exc.start + 1} ({data[exc.start : exc.start + 1]!r}); save it as UTF-8"]
        )


def _check_names(names: list[str], what: str) -> list[str]:
    problems = []
    seen: set[str] = set()
    for i, name in enumerate(names, 1):
        if not name.strip():
            problems.append(f"{what} {i} has no name")
        elif not _NAME.match(name.strip()):
            problems.append(f"{what} {i} {name!r}: a variable name is letters, digits and _ (not starting with a digit)")
        elif name.strip() in seen:
            problems.append(f"{what} {i} {name!r} appears twice")
        seen.add(name.strip())
    return problems


def parse_csv(text: str) -> PromptRows:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise PromptSetError(["the CSV file is empty: its first row names the variables"]) from None
    except csv.Error as exc:
        raise PromptSetError([f"row 0 (header): {exc}"]) from None
    problems = _check_names(header, "column")
    columns = [h.strip() for h in header]
    rows: list[dict[str, str]] = []
    number = 0
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            number += 1
            if len(values) > len(columns):
                problems.append(
                    f"row {number} (line {reader.line_num}): {len(values)} values but only {len(columns)} columns ({', '.join(columns)})"
                )
                continue
            if len(values) < len(columns):
                absent = ", ".join(repr(c) for c in columns[len(values) :])
                problems.append(f"row {number} (line {reader.line_num}), column {absent}: missing value")
                continue
            rows.append(dict(zip(columns, values, strict=True)))
    except csv.Error as exc:
        problems.append(f"row {number + 1} (line {reader.line_num}): {exc}")
    if problems:
        raise PromptSetError(problems)
    return PromptRows(columns, rows)


def parse_jsonl(text: str) -> PromptRows:
    problems: list[str] = []
    rows: list[dict[str, str]] = []
    columns: dict[str, None] = {}
    number = 0
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"row {number} (line {line_no}): not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(value, dict):
            problems.append(f'row {number} (line {line_no}): expected an object like {{"name": "value"}}, got {type(value).__name__}')
            continue
        row: dict[str, str] = {}
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                problems.append(f"row {number} (line {line_no}), column {key!r}: must be text or a number, not {type(item).__name__}")
                continue
            row[key] = "" if item is None else (json.dumps(item) if isinstance(item, bool) else str(item))
            columns.setdefault(key, None)
        rows.append(row)
    problems += _check_names(list(columns), "column")
    for row in rows:
        for name in columns:
            row.setdefault(name, "")
    if problems:
        raise PromptSetError(problems)
    return PromptRows(list(columns), rows)


def parse_text(text: str) -> PromptRows:
    """One prompt per line (blank lines skipped)."""
    return PromptRows([PLAIN_COLUMN], [{PLAIN_COLUMN: line.strip()} for line in text.splitlines() if line.strip()], plain=True)


def parse_upload(name: str, data: bytes) -> PromptRows:
    """Rows from an uploaded file, by its extension: ``.csv``, ``.jsonl`` / ``.ndjson``, or text."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PromptSetError([f"the file is too large: {len(data):,} bytes (at most {MAX_UPLOAD_BYTES:,})"])
    text = _decode(data)
    lower = name.lower()
    if lower.endswith(".csv"):
        parsed = parse_csv(text)
    elif lower.endswith((".jsonl", ".ndjson")):
        parsed = parse_jsonl(text)
    else:
        parsed = parse_text(text)
    if not parsed.rows:
        raise PromptSetError([f"{name} holds no prompts"])
    if len(parsed.rows) > MAX_ROWS:
        raise PromptSetError([f"too many rows: {len(parsed.rows)} (at most {MAX_ROWS} a set)"])
    return parsed


def load_for_template(name: str, data: bytes, template: str) -> PromptRows:
    """An uploaded file checked against ``template``: raises ``PromptSetError`` listing every problem
    (unreadable file, missing variable, unknown column, empty value), so a bad file changes nothing.

    A text file (one value a line) feeds a template with one variable, or is plain prompts.
    """
    parsed = parse_upload(name, data)
    variables = template_variables(effective_template(template))
    if parsed.plain and len(variables) == 1:
        parsed = PromptRows(variables, remap_rows(parsed.rows, variables), plain=True)
    if not (template or "").strip() and parsed.columns != [PLAIN_COLUMN]:
        wanted = " ".join(f"{{{{{c}}}}}" for c in parsed.columns)
        raise PromptSetError(
            [f"{name} has the columns {', '.join(parsed.columns)}: write a prompt template that uses them (e.g. {wanted}) first"]
        )
    problems = validate(template, parsed.columns, parsed.rows)
    if problems:
        raise PromptSetError(problems)
    return parsed


def to_csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    """A set as CSV (the format ``parse_csv`` reads)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
