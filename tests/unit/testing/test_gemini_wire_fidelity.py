"""The fake Gemini wire byte for byte as Google sends it: read with plain httpx, not vv-llm's decoder;
the token endpoint is exercised by google-auth's own client in ``adapters/test_gemini_vertex.py``."""

from __future__ import annotations

import json

import httpx
import pytest

from vv_llm.testing import Reply, ToolCallSpec
from vv_llm.testing.settings import FAKE_KEY

URL = "/v1beta/models/gemini-2.5-flash"
HEADERS = {"x-goog-api-key": FAKE_KEY, "content-type": "application/json"}
BODY = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def post(server, path: str, body: dict, **kwargs) -> httpx.Response:
    return httpx.post(server.url(path), json=body, headers={**HEADERS, **kwargs.pop("headers", {})}, **kwargs)


def test_unary_answer_is_pretty_json(fake_llm_server):
    fake_llm_server.enqueue(Reply(content="Hello there", prompt_tokens=3, completion_tokens=2))
    response = post(fake_llm_server, f"{URL}:generateContent", BODY)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json; charset=UTF-8"
    assert response.text.startswith('{\n  "candidates": [\n    {\n      "content": {\n        "parts": [')
    data = response.json()
    assert data["candidates"] == [{"content": {"parts": [{"text": "Hello there"}], "role": "model"}, "finishReason": "STOP", "index": 0}]
    assert data["usageMetadata"]["promptTokenCount"] == 3 and data["usageMetadata"]["totalTokenCount"] == 5
    assert data["modelVersion"] == "gemini-2.5-flash" and data["responseId"]


def test_stream_is_crlf_sse_without_done(fake_llm_server):
    fake_llm_server.enqueue(Reply(content="abcdef", chunk_chars=3, tool_calls=[ToolCallSpec("f", {"x": 1})]))
    body = {
        **BODY,
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT", "properties": {"x": {"type": "INTEGER"}}}}]}],
    }
    response = post(fake_llm_server, f"{URL}:streamGenerateContent", body, params={"alt": "sse"})
    assert response.headers["content-type"] == "text/event-stream"
    raw = response.content
    events = raw.split(b"\r\n\r\n")
    assert events[-1] == b"" and all(e.startswith(b"data: {") for e in events[:-1])
    assert b"[DONE]" not in raw and b"\n\n" not in raw.replace(b"\r\n\r\n", b"")
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert events[0].startswith(
        b'data: {"candidates": [{"content": {"parts": [{"text": "abc"}],"role": "model"},"index": 0}],"usageMetadata": {'
    )
    assert [c["candidates"][0].get("finishReason") for c in chunks] == [None, None, None, "STOP"]
    assert chunks[2]["candidates"][0]["content"]["parts"] == [{"functionCall": {"name": "f", "args": {"x": 1}}}]
    assert "candidatesTokenCount" in chunks[-1]["usageMetadata"] and "candidatesTokenCount" not in chunks[0]["usageMetadata"]
    assert len({c["responseId"] for c in chunks}) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, 'Unknown name "messages"'),
        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "Please use a valid role: user, model."),
        ({"contents": [{"role": "user", "parts": [{"text": ""}]}]}, "empty text parameter"),
        (
            {"contents": [{"role": "user", "parts": [{"text": "a", "inlineData": {"mimeType": "image/png", "data": "AA=="}}]}]},
            "oneof field 'data'",
        ),
        (
            {
                **BODY,
                "tools": [
                    {
                        "functionDeclarations": [
                            {"name": "f", "parameters": {"type": "object", "additionalProperties": False, "properties": {"a": {}}}}
                        ]
                    }
                ],
            },
            'Unknown name "additionalProperties"',
        ),
        ({**BODY, "generationConfig": {"max_tokens": 5}}, 'Unknown name "max_tokens"'),
        (
            {
                "contents": [
                    *BODY["contents"],
                    {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
                    {"role": "user", "parts": [{"text": "?"}]},
                ]
            },
            "function call turn comes immediately after",
        ),
    ],
)
def test_requests_are_validated_like_google(fake_llm_server, body, message):
    response = post(fake_llm_server, f"{URL}:generateContent", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT" and message in error["message"]


def test_errors_have_googles_shape(fake_llm_server):
    fake_llm_server.enqueue(Reply.rate_limited(retry_after=12, message="Resource has been exhausted (e.g. check quota)."))
    response = post(fake_llm_server, f"{URL}:generateContent", BODY)
    error = response.json()["error"]
    assert response.status_code == 429 and error["status"] == "RESOURCE_EXHAUSTED" and "retry-after" not in response.headers
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"} in error["details"]
    fake_llm_server.api_keys = {"another-key"}
    error = post(fake_llm_server, f"{URL}:generateContent", BODY).json()["error"]
    assert error["code"] == 400 and error["message"] == "API key not valid. Please pass a valid API key."
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    missing = httpx.post(fake_llm_server.url(f"{URL}:generateContent"), json=BODY)
    assert missing.status_code == 403 and missing.json()["error"]["status"] == "PERMISSION_DENIED"


def test_vertex_paths_need_an_issued_token(fake_llm_server):
    path = "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent"
    response = httpx.post(fake_llm_server.url(path), json=BODY)
    assert response.status_code == 401 and response.json()["error"]["status"] == "UNAUTHENTICATED"
    response = httpx.post(fake_llm_server.url(path), json=BODY, headers={"authorization": "Bearer ya29.made-up"})
    assert response.status_code == 401 and "invalid authentication credentials" in response.json()["error"]["message"]
    assert fake_llm_server.requests[-1].protocol == "vertex-gemini"


def test_token_endpoint_refuses_other_grants(fake_llm_server):
    response = httpx.post(fake_llm_server.url("/token"), data={"grant_type": "client_credentials"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
