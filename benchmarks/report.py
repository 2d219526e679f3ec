"""Formatting: the machine a run came from, numbers, and Markdown tables."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = int(f.readline().split()[1])
            memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    versions = {}
    for name in ("httpx", "pydantic"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:
            versions[name] = "?"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "vv_llm"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {
        "cpu": f"{cpu} × {os.cpu_count()} logical cores",
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "httpx": versions["httpx"],
        "pydantic": versions["pydantic"],
        "vv_llm": f"git {commit}{' + uncommitted changes in vv_llm/' if dirty else ''}",
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def paired(raw: Sequence[float], vv: Sequence[float]) -> float:
    """The median over rounds of ``vv ÷ raw`` in the same round: the two sides of a round run back
    to back, so a slow spell of the machine (single streams here run at one of two speeds for
    minutes at a time) divides out, where a ratio of the two medians keeps it."""
    return statistics.median(v / r for r, v in zip(raw, vv, strict=True))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs"


def rate(value: float, unit: str = "/s") -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M{unit}"
    return f"{value:,.0f}{unit}"


def ratio(value: float) -> str:
    return f"{value:.2f}×" if value >= 0.01 else f"1/{1 / value:,.0f}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
