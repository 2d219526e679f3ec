"""Export runs as Markdown (to read), JSON (messages in OpenAI format plus metadata) or CSV (one row per model)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app import formatting as fmt
from app.compare.conversation import message_text
from app.history.store import ResultView, RunView

EXPORT_FORMAT = "vv-llm-history"
EXPORT_VERSION = 1
COST_DECIMALS = 8
"""USD costs are exported to 8 decimals (a millionth of a cent): no float noise such as 0.00028000000000000003."""
CSV_COLUMNS = [
    "run_id",
    "created_at",
    "run_status",
    "user_prompt",
    "system_prompt",
    "position",
    "backend",
    "model",
    "endpoint_id",
    "status",
    "finish_reason",
    "ttft_s",
    "total_s",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "usage_estimated",
    "cost_usd",
    "error_type",
    "error_message",
    "content",
    "reasoning",
    "tool_calls",
    "matrix_row",
    "matrix_variables",
]
"""One row per model result; a matrix run's cells carry their own prompt (``user_prompt``), row and variables."""


def _usage(result: ResultView) -> dict[str, int | None]:
    r = result.result
    return {
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "cached_tokens": r.cached_tokens,
        "reasoning_tokens": r.reasoning_tokens,
    }


def run_to_dict(view: RunView) -> dict[str, Any]:
    run = view.run
    out = {
        "id": run.id,
        "created_at": fmt.iso_utc(run.created_at),
        "finished_at": fmt.iso_utc(run.finished_at),
        "status": run.status,
        "title": run.title,
        "system_prompt": run.system_prompt,
        "user_prompt": run.user_prompt,
        "image_count": run.image_count,
        "parent_id": run.parent_id,
        "parameters": view.parameters,
        "results": [
            {
                "position": r.result.position,
                "backend": r.result.backend,
                "model": r.result.model,
                "endpoint_id": r.result.endpoint_id,
                "status": r.result.status,
                "partial": r.result.status in ("partial", "stopped"),
                "finish_reason": r.result.finish_reason,
                "content": r.result.content,
                "reasoning": r.result.reasoning,
                "tool_calls": r.tool_calls,
                "usage": _usage(r),
                "usage_estimated": r.result.usage_estimated,
                "cost_usd": None if r.result.cost_usd is None else round(r.result.cost_usd, COST_DECIMALS),
                "ttft_s": r.result.ttft_s,
                "total_s": r.result.total_s,
                "error": {"type": r.result.error_type, "message": r.result.error_message} if r.result.error_type else None,
                "parameters": r.parameters,
                "messages": r.messages,
                **({"cell": view.matrix.cell_dict(r.result.id)} if view.matrix is not None else {}),
            }
            for r in view.results
        ],
    }
    if view.matrix is not None:
        out["matrix"] = view.matrix.to_dict()
    return out


def to_json(runs: Sequence[RunView]) -> str:
    exported_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    payload = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": exported_at, "runs": [run_to_dict(v) for v in runs]}
    return json.dumps(payload, ensure_ascii=False, indent=2)


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines() or [""])


def _metrics_line(r: ResultView) -> str:
    res = r.result
    parts = [
        f"TTFT {fmt.seconds(res.ttft_s)}",
        f"total {fmt.seconds(res.total_s)}",
        f"tokens in {fmt.tokens(res.prompt_tokens)} / out {fmt.tokens(res.completion_tokens)} / cached {fmt.tokens(res.cached_tokens)}",
        f"cost {fmt.cost(res.cost_usd)}",
    ]
    if res.usage_estimated:
        parts[2] = "≈ " + parts[2] + " (estimated)"
    if res.endpoint_id:
        parts.append(f"endpoint `{res.endpoint_id}`")
    return " · ".join(parts)


def _earlier_turns(r: ResultView) -> list[str]:
    """A follow-up's earlier turns in this column (everything before its last user message)."""
    messages = [m for m in r.messages if m.get("role") != "system"]
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=0)
    out: list[str] = []
    for message in messages[:last_user]:
        role = message.get("role")
        if role == "tool":
            out += [f"*Tool result* (`{message.get('tool_call_id') or ''}`)", "", _quote(message_text(message)), ""]
        elif role == "user":
            out += ["*You*", "", _quote(message_text(message)), ""]
        elif role == "assistant":
            calls = [c.get("function", {}).get("name", "?") for c in message.get("tool_calls") or []]
            text = message_text(message) or ("(called " + ", ".join(calls) + ")" if calls else "")
            out += [f"*{r.result.model}*", "", _quote(text), ""]
    return ["**Earlier in this conversation**", "", *out] if out else []


def to_markdown(runs: Sequence[RunView]) -> str:
    out = [f"# vv-llm history export ({len(runs)} run{'s' if len(runs) != 1 else ''})", ""]
    for view in runs:
        run = view.run
        out += [f"## {run.title or '(no prompt)'}", "", f"*{fmt.local_time(run.created_at)} · run `{run.id}` · {run.status}*", ""]
        if run.system_prompt:
            out += ["**System prompt**", "", _quote(run.system_prompt), ""]
        images = f" (+{run.image_count} image{'s' if run.image_count != 1 else ''})" if run.image_count else ""
        tools = [t.get("function", {}).get("name", "?") for t in view.parameters.get("tools") or [] if isinstance(t, dict)]
        if tools:
            out += [f"**Tools offered** (not executed by the playground): {', '.join(f'`{t}`' for t in tools)}", ""]
        if view.matrix is not None:
            out += _matrix_markdown(view)
            continue
        out += [f"**Prompt**{images}", "", _quote(run.user_prompt), ""]
        for i, r in enumerate(view.results, 1):
            out += [f"### {i}. {_result_markdown_title(r)}", "", *_result_markdown(r, earlier=True)]
    return "\n".join(out).rstrip() + "\n"


def _result_markdown_title(r: ResultView) -> str:
    res = r.result
    partial = " (partial)" if res.status in ("partial", "stopped") else ""
    return f"{res.model} ({res.backend}) — {res.status}{partial}"


def _result_markdown(r: ResultView, *, earlier: bool = False) -> list[str]:
    """One answer: metrics, the parameters used, (``earlier``: a follow-up's earlier turns), error, reasoning, tool calls, text."""
    res = r.result
    out = [_metrics_line(r), ""]
    used = fmt.params(r.parameters)
    if used:
        out += [f"Parameters: {used}", ""]
    if earlier:
        out += _earlier_turns(r)
    if res.error_type:
        out += [f"**Error** `{res.error_type}`: {res.error_message or ''}", ""]
    if res.reasoning:
        out += ["**Reasoning**", "", _quote(res.reasoning), ""]
    if r.tool_calls:
        out += ["**Tool calls**", "", "```json", json.dumps(r.tool_calls, ensure_ascii=False, indent=2), "```", ""]
    if res.content:
        out += [res.content, ""]
    return out


def _matrix_markdown(view: RunView) -> list[str]:
    """A matrix run: its template and models, then each prompt row with every model's answer."""
    info = view.matrix
    assert info is not None
    models = ", ".join(f"`{m}`" for m in info.models)
    out = [f"**Matrix** {info.row.row_count} prompts × {info.row.model_count} models ({models}) · {info.row.status}", ""]
    if info.row.template.strip():
        out += ["**Template**", "", _quote(info.row.template), ""]
    by_row: dict[int, list[tuple[int, ResultView]]] = {}
    for r in view.results:
        cell = info.cells.get(r.result.id or -1)
        if cell is not None:
            by_row.setdefault(cell[0], []).append((cell[1], r))
    for row in range(info.row.row_count):
        out += [f"### Row {row + 1}", "", _quote(info.prompt(row)), ""]
        answers = sorted(by_row.get(row, []), key=lambda pair: pair[0])
        if not answers:
            out += ["_(not run)_", ""]
        for _m, r in answers:
            out += [f"#### {_result_markdown_title(r)}", "", *_result_markdown(r)]
    return out


def _csv_rows(runs: Sequence[RunView]) -> list[dict[str, Any]]:
    rows = []
    for view in runs:
        for r in view.results:
            res = r.result
            cell = view.matrix.cell_dict(res.id) if view.matrix is not None else None
            rows.append(
                {
                    "run_id": view.run.id,
                    "created_at": fmt.iso_utc(view.run.created_at),
                    "run_status": view.run.status,
                    "user_prompt": cell["prompt"] if cell else view.run.user_prompt,
                    "system_prompt": view.run.system_prompt or "",
                    "position": res.position,
                    "backend": res.backend,
                    "model": res.model,
                    "endpoint_id": res.endpoint_id or "",
                    "status": res.status,
                    "finish_reason": res.finish_reason or "",
                    "ttft_s": fmt.decimal(res.ttft_s, 3),
                    "total_s": fmt.decimal(res.total_s, 3),
                    "prompt_tokens": res.prompt_tokens,
                    "completion_tokens": res.completion_tokens,
                    "cached_tokens": res.cached_tokens,
                    "reasoning_tokens": res.reasoning_tokens,
                    "usage_estimated": res.usage_estimated,
                    "cost_usd": fmt.decimal(res.cost_usd, COST_DECIMALS),
                    "error_type": res.error_type or "",
                    "error_message": res.error_message or "",
                    "content": res.content,
                    "reasoning": res.reasoning or "",
                    "tool_calls": json.dumps(r.tool_calls, ensure_ascii=False) if r.tool_calls else "",
                    "matrix_row": cell["row"] + 1 if cell else "",
                    "matrix_variables": json.dumps(cell["variables"], ensure_ascii=False) if cell else "",
                }
            )
    return rows


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula (``=``, ``+``, ``-``,
    ``@``, tab, carriage return) gets a leading ``'``, as spreadsheet tools expect; numbers and
    other text are kept as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(runs: Sequence[RunView]) -> str:
    """One row per model answer; cells that a spreadsheet would run as formulas are neutralised
    (JSON and Markdown exports keep the text verbatim)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _csv_rows(runs):
        writer.writerow({k: "" if v is None else spreadsheet_safe(v) for k, v in row.items()})
    return buffer.getvalue()


@dataclass(frozen=True)
class ExportFormat:
    name: str
    extension: str
    mime: str
    render: Callable[[Sequence[RunView]], str]


FORMATS = {
    "Markdown": ExportFormat("Markdown", "md", "text/markdown", to_markdown),
    "JSON": ExportFormat("JSON", "json", "application/json", to_json),
    "CSV": ExportFormat("CSV", "csv", "text/csv", to_csv),
}
