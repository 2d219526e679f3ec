"""Numbers and times as people read them (shared by the pages and the exports)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def tokens(value: int | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.1f}k" if value >= 10_000 else f"{value:,}"


def rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} tok/s"


def cost(value: float | None) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.6f}".rstrip("0")
    return f"${value:,.4f}"


def params(options: dict[str, object]) -> str:
    """``temperature 0.2 · max tokens 64 · thinking on`` for a column's options (backend/model left out)."""
    names = {"temperature": "temperature", "max_tokens": "max tokens", "thinking": "thinking", "top_p": "top p"}
    parts = []
    for name, value in options.items():
        if name in ("backend", "model", "tools") or value is None:
            continue
        if isinstance(value, bool):
            value = "on" if value else "off"
        parts.append(f"{names.get(name, name.replace('_', ' '))} {value}")
    return " · ".join(parts)


def decimal(value: float | None, places: int) -> str | None:
    """``value`` rounded to ``places`` decimals, written without float noise or exponent (``0.00028``)."""
    if value is None:
        return None
    text = f"{round(value, places):.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def local_time(value: datetime | None) -> str:
    """A stored (UTC) time in this machine's time zone."""
    if value is None:
        return "–"
    return _aware(value).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(value: datetime | None) -> str | None:
    return None if value is None else _aware(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


def home_relative(path: Path) -> str:
    """``~/.local/share/vv-llm/settings.json`` rather than the full home path."""
    try:
        return "~/" + str(path.resolve().relative_to(Path.home().resolve()))
    except ValueError:
        return str(path)


def shorten(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
