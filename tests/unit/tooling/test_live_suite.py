"""The opt-in live suite (tests/live) itself, checked offline: never collected by default, each
backend without a key skipped naming its variable, and a configured backend passes its plain,
stream and tool-call checks — here against the fake server, through a settings file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from vv_llm.testing import FakeLLMServer, Reply, ToolCallSpec
from vv_llm.testing.script import RequestInfo
from vv_llm.testing.settings import FAKE_KEY, base_path
from vv_llm.types.enums import BackendType

ROOT = Path(__file__).resolve().parents[3]
KEY_VARIABLES = ("_API_KEY", "VV_LLM_LIVE", "VV_LLM_SETTINGS")


def _pytest(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not any(part in k for part in KEY_VARIABLES)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean, **env},
        check=False,
    )


def test_default_runs_never_collect_the_live_suite() -> None:
    done = _pytest("--collect-only", "tests/live")
    assert "16 deselected" in done.stdout and "test_live.py::" not in done.stdout


def test_each_backend_without_a_key_is_skipped_naming_the_variable() -> None:
    done = _pytest("-m", "live", "tests/live")
    assert done.returncode == 0, done.stdout[-3000:]
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "DASHSCOPE_API_KEY", "QIANFAN_API_KEY"):
        assert f"{variable} is not set" in done.stdout
    assert "16 skipped" in done.stdout


def _responder(info: RequestInfo) -> Reply:
    if info.tools:
        return Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    if info.stream:
        return Reply(content="1 2 3 4 5", chunk_chars=2)
    return Reply(content="pong")


def test_a_configured_backend_passes_plain_stream_and_tool_call_from_a_settings_file(tmp_path: Path) -> None:
    with FakeLLMServer(responder=_responder) as server:
        settings = {
            "VERSION": "2",
            "endpoints": [
                {"id": "openai", "api_base": server.url(base_path(BackendType.OpenAI)), "api_key": FAKE_KEY},
                {"id": "anthropic", "api_base": server.url(base_path(BackendType.Anthropic)), "api_key": FAKE_KEY},
            ],
            "backends": {"openai": {"endpoints": ["openai"]}, "anthropic": {"endpoints": ["anthropic"]}},
        }
        path = tmp_path / "live-settings.json"
        path.write_text(json.dumps(settings))
        done = _pytest("-m", "live", "tests/live", "-k", "openai or anthropic", VV_LLM_LIVE_SETTINGS=str(path))
        assert done.returncode == 0, done.stdout[-3000:]
        assert "2 passed" in done.stdout
        assert sorted({r.protocol for r in server.requests}) == ["anthropic", "openai"] and len(server.requests) == 6
