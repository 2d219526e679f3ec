"""The per-column "Request" popover: what the provider actually received.

Shows a reply's (or error's) ``request_report``: the endpoint that answered (and any it failed
over from), the model id sent, how structured output was carried out, and each option the
column gave — sent as is, mapped (to what) or dropped (why). Used by Compare and History alike.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.ui.common import md_escape

_LOOK = {"sent": ":green[sent]", "mapped": ":blue[mapped]", "dropped": ":orange[**dropped**]"}


def _code(text: Any) -> str:
    """``text`` as an inline code span (Markdown escapes do not apply inside one)."""
    return "`" + str(text).replace("`", "'").replace("|", "¦") + "`"


def report_lines(report: dict[str, Any]) -> list[str]:
    """The popover's Markdown lines for a ``RequestReport.to_dict()`` (values escaped)."""
    lines = [
        f"**Endpoint** {_code(report.get('endpoint_id'))} ({md_escape(str(report.get('provider')))})",
        f"**Model id** {_code(report.get('model_id'))}",
    ]
    if report.get("failed_over"):
        lines.append("**Failed over from** " + ", ".join(_code(e) for e in report["failed_over"]))
    if report.get("structured_output"):
        lines.append(f"**Structured output** by {md_escape(str(report['structured_output']))}")
    options = report.get("options") or {}
    if options:
        rows = ["| Option | Fate | Detail |", "|---|---|---|"]
        for name, fate in options.items():
            detail = fate.get("to") or fate.get("reason") or ""
            rows.append(f"| {_code(name)} | {_LOOK.get(fate.get('status'), md_escape(str(fate.get('status'))))} | {md_escape(detail)} |")
        lines.append("\n".join(rows))
    else:
        lines.append("_No options given: the provider's defaults applied._")
    return lines


def request_report_popover(report: dict[str, Any] | None) -> None:
    """An info popover with ``report``; nothing when the column has none (e.g. an old history row)."""
    if not report:
        return
    dropped = sum(1 for fate in (report.get("options") or {}).values() if fate.get("status") == "dropped")
    label = f"Request · {dropped} dropped" if dropped else "Request"
    with st.popover(label, icon=":material/info:", help="What the provider received: endpoint, model id, each option's fate"):
        for line in report_lines(report):
            st.markdown(line)
