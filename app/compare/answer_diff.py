"""Differences between two answers: word by word (``diff-match-patch``), or field by field for JSON.

The word diff is returned as HTML in which every piece of model text is escaped: an answer can
never inject markup into the page. JSON answers (or answers expected to follow a response_format
schema) are compared key by key instead, and each is checked against the schema (``jsonschema``).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from diff_match_patch import diff_match_patch

Op = Literal["equal", "insert", "delete"]
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)
MISSING: Any = object()
_FIRST_CODE, _CODES = 0xF0000, 0x20000
"""Supplementary private-use planes 15 and 16: one code point per distinct word."""


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff(a: str, b: str) -> list[tuple[Op, str]]:
    """``a`` → ``b`` as (op, text) pieces, whole words at a time (semantic cleanup applied)."""
    vocabulary: dict[str, str] = {}

    def encode(text: str) -> str:
        # Each distinct word becomes one private-use character, so the character diff is a word diff.
        return "".join(vocabulary.setdefault(token, chr(_FIRST_CODE + len(vocabulary) % _CODES)) for token in _tokens(text))

    engine = diff_match_patch()
    engine.Diff_Timeout = 2.0
    coded_a, coded_b = encode(a or ""), encode(b or "")
    decode = {char: token for token, char in vocabulary.items()}
    diffs = engine.diff_main(coded_a, coded_b, False)
    engine.diff_cleanupSemantic(diffs)
    names: dict[int, Op] = {0: "equal", 1: "insert", -1: "delete"}
    return [(names[op], "".join(decode[c] for c in chunk)) for op, chunk in diffs if chunk]


def diff_html(pieces: list[tuple[Op, str]]) -> str:
    """The word diff as escaped HTML: ``<ins>`` for text only in B, ``<del>`` for text only in A."""
    out = []
    for op, text in pieces:
        escaped = html.escape(text).replace("\n", "<br>")
        if op == "insert":
            out.append(f'<ins class="vv-diff-ins">{escaped}</ins>')
        elif op == "delete":
            out.append(f'<del class="vv-diff-del">{escaped}</del>')
        else:
            out.append(f"<span>{escaped}</span>")
    return "".join(out)


def diff_stats(pieces: list[tuple[Op, str]]) -> dict[str, int]:
    """Words inserted, deleted and kept."""
    counts = {"equal": 0, "insert": 0, "delete": 0}
    for op, text in pieces:
        counts[op] += sum(1 for token in _tokens(text) if not token.isspace())
    return counts


# -- JSON ----------------------------------------------------------------------------------
@dataclass
class ParsedAnswer:
    text: str
    value: Any = MISSING
    parse_error: str | None = None
    schema_errors: list[str] = field(default_factory=list)

    @property
    def parses(self) -> bool:
        return self.value is not MISSING

    schema_checked: bool = False

    @property
    def valid(self) -> bool | None:
        """None when there is no schema to check against."""
        return (self.parses and not self.schema_errors) if self.schema_checked else None


def parse_json_answer(text: str) -> ParsedAnswer:
    """An answer as JSON (a ```json fence around it is allowed)."""
    body = (text or "").strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        return ParsedAnswer(text, json.loads(body))
    except (json.JSONDecodeError, ValueError) as exc:
        message = f"{exc.msg} (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else str(exc)
        return ParsedAnswer(text, parse_error=message)


def schema_of(response_format: Any) -> dict[str, Any] | None:
    """The JSON schema in a response_format (OpenAI's ``{"type": "json_schema", "json_schema": {"schema": ...}}``) or a bare schema."""
    if not isinstance(response_format, dict):
        return None
    inner = response_format.get("json_schema")
    if isinstance(inner, dict) and isinstance(inner.get("schema"), dict):
        return inner["schema"]
    if response_format.get("type") in ("json_object", "text") and "properties" not in response_format:
        return None
    return response_format


def check_schema(answer: ParsedAnswer, schema: dict[str, Any] | None) -> ParsedAnswer:
    """Fill ``answer.schema_errors`` (each with the JSON path of the offending value)."""
    if schema is None:
        return answer
    import jsonschema

    answer.schema_checked = True
    if not answer.parses:
        return answer
    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        validator = validator_class(schema)
    except jsonschema.SchemaError as exc:
        answer.schema_errors = [f"the schema itself is invalid: {exc.message}"]
        return answer
    for error in sorted(validator.iter_errors(answer.value), key=lambda e: list(e.absolute_path)):
        answer.schema_errors.append(f"{error.json_path}: {error.message}")
    return answer


@dataclass(frozen=True)
class FieldDifference:
    path: str
    """JSON path, e.g. ``$.items[2].name``."""
    kind: Literal["only_a", "only_b", "changed"]
    a: Any = MISSING
    b: Any = MISSING


def _child(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)) else f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def json_field_diff(a: Any, b: Any, path: str = "$") -> list[FieldDifference]:
    """Every key present in one value only and every leaf value that differs, by JSON path."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[FieldDifference] = []
        for key in list(a) + [k for k in b if k not in a]:
            here = _child(path, key)
            if key not in b:
                out.append(FieldDifference(here, "only_a", a=a[key]))
            elif key not in a:
                out.append(FieldDifference(here, "only_b", b=b[key]))
            else:
                out += json_field_diff(a[key], b[key], here)
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for i in range(max(len(a), len(b))):
            here = _child(path, i)
            if i >= len(b):
                out.append(FieldDifference(here, "only_a", a=a[i]))
            elif i >= len(a):
                out.append(FieldDifference(here, "only_b", b=b[i]))
            else:
                out += json_field_diff(a[i], b[i], here)
        return out
    if a == b and type(a) is type(b):
        return []
    return [FieldDifference(path, "changed", a=a, b=b)]


@dataclass
class AnswerDiff:
    """What ``compare_answers`` found: a JSON field diff when both parse (or a schema was given), else words."""

    mode: Literal["json", "words"]
    a: ParsedAnswer
    b: ParsedAnswer
    words: list[tuple[Op, str]] = field(default_factory=list)
    fields: list[FieldDifference] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        if self.mode == "json" and self.a.parses and self.b.parses:
            return not self.fields
        return all(op == "equal" for op, _ in self.words)


def compare_answers(a: str, b: str, schema: dict[str, Any] | None = None) -> AnswerDiff:
    """Compare two answers: field by field when both are JSON or a schema is given, else word by word."""
    parsed_a, parsed_b = check_schema(parse_json_answer(a), schema), check_schema(parse_json_answer(b), schema)
    structured = isinstance(parsed_a.value, (dict, list)) and isinstance(parsed_b.value, (dict, list))
    if structured or schema is not None:
        result = AnswerDiff("json", parsed_a, parsed_b)
        if parsed_a.parses and parsed_b.parses:
            result.fields = json_field_diff(parsed_a.value, parsed_b.value)
        else:
            result.words = word_diff(a, b)
        return result
    return AnswerDiff("words", parsed_a, parsed_b, words=word_diff(a, b))


def short_json(value: Any, limit: int = 120) -> str:
    """A value as compact JSON for a table cell (``—`` when absent)."""
    if value is MISSING:
        return "—"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
