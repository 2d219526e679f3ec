"""The token server: endpoints through FastAPI's TestClient, its OpenAPI schema through schemathesis
(in-process, bounded), and the console command serving on a real port."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from vv_llm.server.app import create_app
from vv_llm.testing.server import unused_port
from vv_llm.utilities.tokens import count_message_tokens, get_token_counts

from ..tokens.test_helpers import png_data_url

ROOT = Path(__file__).resolve().parents[3]
APP = create_app()


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(APP) as test_client:
        yield test_client


def test_text_tokens(client: TestClient) -> None:
    response = client.post("/v1/tokens/text", json={"model": "gpt-4o", "text": "Hello world"})
    assert response.status_code == 200
    assert response.json() == {
        "model": "gpt-4o",
        "tokens": 2,
        "tokenizer": {"name": "o200k_base", "family": "openai", "backend": "openai", "exact": True, "scale": 1.0},
    }
    text = "检索增强生成把检索器和生成模型结合起来。"
    for model, backend in (("deepseek-chat", None), ("claude-sonnet-4-5", "anthropic"), ("qwen/qwen3-32b", "groq")):
        body = client.post("/v1/tokens/text", json={"model": model, "backend": backend, "text": text}).json()
        assert body["tokens"] == get_token_counts(text, model, backend)


def test_message_tokens(client: TestClient) -> None:
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": png_data_url(1024, 1024)}},
            ],
        },
    ]
    tools = [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
        }
    ]
    response = client.post("/v1/tokens/messages", json={"model": "gpt-4o", "messages": messages, "tools": tools})
    assert response.status_code == 200
    body = response.json()
    expected = count_message_tokens(messages, tools, "gpt-4o")
    assert body["tokens"] == expected.total == 10 + (3 + 1 + 6 + 765) + expected.tools + 3
    assert (body["messages"], body["tools"], body["reply"], body["images"]) == ([10, 775], expected.tools, 3, 765)
    assert body["tokenizer"]["exact"] is True


def test_tokenizer_endpoint(client: TestClient) -> None:
    assert client.get("/v1/tokenizer", params={"model": "openai/gpt-oss-120b", "backend": "groq"}).json()["name"] == "o200k_base"
    estimate = client.get("/v1/tokenizer", params={"model": "gemini-2.5-pro"}).json()
    assert estimate == {"name": "estimate", "family": "gemini", "backend": "gemini", "exact": False, "scale": 1.1}
    assert client.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("path", "payload", "loc"),
    [
        ("/v1/tokens/text", {"model": "gpt-4o"}, ["body", "text"]),
        ("/v1/tokens/text", {"model": "", "text": "x"}, ["body", "model"]),
        ("/v1/tokens/text", {"model": "gpt-4o", "text": 3}, ["body", "text"]),
        ("/v1/tokens/text", {"model": "gpt-4o", "text": "x", "backend": "nope"}, ["body", "backend"]),
        ("/v1/tokens/text", {"model": "gpt-4o", "text": "x", "temperature": 1}, ["body", "temperature"]),
        ("/v1/tokens/messages", {"model": "gpt-4o", "messages": []}, ["body", "messages"]),
        ("/v1/tokens/messages", {"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]}, ["body", "messages", 0, "role"]),
        (
            "/v1/tokens/messages",
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {}}]},
            ["body", "tools", 0, "function", "name"],
        ),
    ],
)
def test_bad_payloads_get_422_with_the_field_path(client: TestClient, path: str, payload: dict[str, Any], loc: list[Any]) -> None:
    response = client.post(path, json=payload)
    assert response.status_code == 422
    assert loc in [error["loc"] for error in response.json()["detail"]]


def test_local_file_images_are_refused(client: TestClient) -> None:
    message = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "/etc/passwd"}}]}
    response = client.post("/v1/tokens/messages", json={"model": "gpt-4o", "messages": [message]})
    assert response.status_code == 422
    assert any(error["loc"][-1] == "url" for error in response.json()["detail"])


def test_not_json_is_422(client: TestClient) -> None:
    response = client.post("/v1/tokens/text", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_bodies_count_the_same_however_they_are_sent(client: TestClient) -> None:
    """The server reads a body into one buffer and releases it before parsing (peak memory,
    ``vv_llm/server/body.py``): declared or chunked, any JSON content type, UTF-8 or UTF-16,
    escapes and lone surrogates, the count is the text's."""
    import json

    text = "检索增强生成，先找到相关文档。Retrieval first, then the answer.\n" * 50 + "\ud83d lone"
    expected = get_token_counts(text, "gpt-4o")
    payload = json.dumps({"model": "gpt-4o", "text": text})  # ASCII, with \u escapes
    raw = json.dumps({"model": "gpt-4o", "text": text[:-5]}, ensure_ascii=False).encode("utf-8", "surrogatepass")
    sent = [
        (payload.encode(), "application/json"),
        (payload.encode(), "application/json; charset=utf-8"),
        (payload.encode(), "application/vnd.count+json"),
        (payload.encode("utf-16"), "application/json"),
    ]
    for body, kind in sent:
        response = client.post("/v1/tokens/text", content=body, headers={"content-type": kind})
        assert response.status_code == 200 and response.json()["tokens"] == expected, kind
    pieces = [raw[i : i + 1000] for i in range(0, len(raw), 1000)]  # no content-length: read as it comes
    response = client.post("/v1/tokens/text", content=iter(pieces), headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["tokens"] == get_token_counts(text[:-5], "gpt-4o")
    messages = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}
    response = client.post("/v1/tokens/messages", content=json.dumps(messages).encode(), headers={"content-type": "application/json"})
    assert response.json()["tokens"] == count_message_tokens(messages["messages"], None, "gpt-4o").total


def test_a_json_body_sent_as_another_type_is_a_422(client: TestClient) -> None:
    response = client.post("/v1/tokens/text", content=b'{"model": "gpt-4o", "text": "hi"}', headers={"content-type": "text/plain"})
    assert response.status_code == 422 and response.json()["detail"]


def test_a_text_over_the_character_limit_is_a_422_naming_the_field(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from vv_llm.server import schemas

    monkeypatch.setattr(schemas, "MAX_TEXT_CHARS", 10)
    for path, payload, loc in (
        ("/v1/tokens/text", {"model": "gpt-4o", "text": "检" * 11}, ["body", "text"]),
        (
            "/v1/tokens/messages",
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 11}]},
            ["body", "messages", 0, "content"],
        ),
    ):
        response = client.post(path, json=payload)
        assert response.status_code == 422
        errors = [e for e in response.json()["detail"] if e["loc"] == loc]
        assert errors and errors[0]["type"] == "string_too_long" and "at most 10 characters" in errors[0]["msg"], response.json()
    assert client.post("/v1/tokens/text", json={"model": "gpt-4o", "text": "检" * 10}).status_code == 200


# -- the OpenAPI schema, fuzzed in-process -----------------------------------------------------------
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_schema_holds(case: Any) -> None:
    case.call_and_validate()


# -- the console command --------------------------------------------------------------------------
def test_python_m_serves_on_the_given_port() -> None:
    port = unused_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vv_llm.server", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):  # wait until it listens (or give up after ~30 s)
            if process.poll() is not None:
                pytest.fail(f"the server exited: {process.stderr.read().decode() if process.stderr else ''}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        response = httpx.post(f"{url}/v1/tokens/text", json={"model": "gpt-4", "text": "Hello world"}, timeout=30)
        assert response.status_code == 200 and response.json()["tokens"] == 2
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_bad_settings_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "settings.json"
    bad.write_text('{"VERSION": "2", "token_server": {"port": "many"}}')
    out = subprocess.run(
        [sys.executable, "-m", "vv_llm.server", "--settings", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "token_server.port" in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "vv_llm.server", "--settings", str(tmp_path / "missing.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "missing.json" in out.stderr


def test_console_command_is_installed() -> None:
    command = Path(sys.executable).with_name("vv-llm-token-server")
    out = subprocess.run([str(command), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--port" in out.stdout
