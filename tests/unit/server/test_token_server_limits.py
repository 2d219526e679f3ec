"""Issue 12: the token server bounds what it reads — against the real server process (uvicorn on a
loopback port): a request-size limit answered 413 with a JSON message, bounded text and message
counts, and a deeply nested body told apart from one that is not UTF-8 JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vv_llm.server.limits import DEFAULT_MAX_BODY_BYTES
from vv_llm.server.schemas import MAX_TEXT_CHARS
from vv_llm.testing.server import unused_port

ROOT = Path(__file__).resolve().parents[3]


def serve(*args: str) -> Iterator[str]:
    port = unused_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vv_llm.server", "--port", str(port), "--log-level", "warning", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                pytest.fail(f"the server exited: {process.stderr.read().decode() if process.stderr else ''}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose settings file sets a 64 KiB limit."""
    path = tmp_path_factory.mktemp("token-server") / "settings.json"
    path.write_text(json.dumps({"VERSION": "2", "token_server": {"max_body_bytes": 65536}}))
    yield from serve("--settings", str(path))


@pytest.fixture(scope="module")
def default() -> Iterator[str]:
    yield from serve()


def _refused(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413
    detail = response.json()["detail"][0]
    assert detail["type"] == "body_too_large" and str(limit) in detail["msg"]


def test_a_body_over_the_limit_is_413_with_a_json_message(small: str) -> None:
    _refused(httpx.post(f"{small}/v1/tokens/text", json={"model": "gpt-4o", "text": "a " * 40_000}, timeout=30), 65536)
    ok = httpx.post(f"{small}/v1/tokens/text", json={"model": "gpt-4o", "text": "a " * 20_000}, timeout=30)
    assert ok.status_code == 200 and ok.json()["tokens"] > 0


def test_a_chunked_body_over_the_limit_is_413(small: str) -> None:
    def pieces() -> Iterator[bytes]:
        yield b'{"model": "gpt-4o", "text": "'
        for _ in range(100):
            yield b"x" * 4096
        yield b'"}'

    response = httpx.post(f"{small}/v1/tokens/text", content=pieces(), headers={"content-type": "application/json"}, timeout=30)
    _refused(response, 65536)


def test_the_default_limit_refuses_a_huge_body(default: str) -> None:
    response = httpx.post(f"{default}/v1/tokens/text", json={"model": "gpt-4o", "text": "x" * (DEFAULT_MAX_BODY_BYTES + 1)}, timeout=60)
    _refused(response, DEFAULT_MAX_BODY_BYTES)


def test_a_deep_body_is_not_called_unreadable(small: str) -> None:
    deep = '{"model": "gpt-4o", "text": "x", "backend": ' + "[" * 20_000 + "]" * 20_000 + "}"
    response = httpx.post(f"{small}/v1/tokens/text", content=deep, headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 422
    assert "nested too deeply" in response.json()["detail"][0]["msg"]
    not_utf8 = httpx.post(f"{small}/v1/tokens/text", content=b'{"text": "\xff"}', headers={"content-type": "application/json"})
    assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.json()["detail"][0]["msg"]


def test_deep_tool_parameters_are_a_422_not_a_server_error(small: str) -> None:
    depth = 900  # parses (under the JSON decoder's limit) but is deeper than counting recurses comfortably
    schema = '{"type": "object", "properties": {"a": ' * depth + '{"type": "string"}' + "}}" * depth
    body = '{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": '
    body += schema + "}}]}"
    response = httpx.post(f"{small}/v1/tokens/messages", content=body, headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code in (200, 422), response.text


def test_text_and_message_counts_are_bounded_in_the_schema(tmp_path: Path) -> None:
    for url in serve("--max-body-bytes", str(64 * 1024 * 1024)):
        text = httpx.post(f"{url}/v1/tokens/text", json={"model": "gpt-4o", "text": "a " * (MAX_TEXT_CHARS // 2 + 1)}, timeout=60)
        assert text.status_code == 422 and ["body", "text"] in [e["loc"] for e in text.json()["detail"]]
        many = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}] * 10_001}
        response = httpx.post(f"{url}/v1/tokens/messages", json=many, timeout=60)
        assert response.status_code == 422 and ["body", "messages"] in [e["loc"] for e in response.json()["detail"]]
