"""What reaches the wire when the transport reuses an endpoint's parsed URL and merged headers:
each call's own headers, a key changed in settings, cookies the provider set, and a caller's
``http_client`` with its own defaults — never a stale request from an earlier call."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.chat_clients.transport import AsyncTransport, SyncTransport, shared_sync_transport
from vv_llm.settings import settings
from vv_llm.testing import Reply
from vv_llm.testing.settings import FAKE_KEY, fake_settings_dict
from vv_llm.types.effects import HttpRequest, Open, Send, Timeouts

USER = [{"role": "user", "content": "hello"}]
OPENAI_REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


@pytest.mark.parametrize("face", ["sync", "async"])
def test_each_call_sends_its_own_extra_headers(fake_settings, fake_llm_server, face):
    def calls() -> list[dict[str, str]]:
        sent = []
        if face == "sync":
            client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
            for extra in ({"x-trace": "one"}, {"x-trace": "two"}, None):
                client.create_completion(USER, extra_headers=extra)
                sent.append(fake_llm_server.last_request.headers)
            return sent

        async def run() -> None:
            client = create_async_chat_client(BackendType.OpenAI, model="gpt-4o")
            for extra in ({"x-trace": "one"}, {"x-trace": "two"}, None):
                await client.create_completion(USER, extra_headers=extra)
                sent.append(fake_llm_server.last_request.headers)

        asyncio.run(run())
        return sent

    first, second, third = calls()
    assert (first["x-trace"], second["x-trace"]) == ("one", "two")
    assert "x-trace" not in third
    for headers in (first, second, third):
        assert headers["authorization"] == f"Bearer {FAKE_KEY}"
        assert headers["content-type"] == "application/json"
        # httpx's own defaults are still merged under ours, as client.build_request merges them
        assert headers["user-agent"].startswith("python-httpx/") and "gzip" in headers["accept-encoding"]
        assert int(headers["content-length"]) > 0


def test_a_key_changed_in_settings_is_sent_on_the_next_call(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    client.create_completion(USER)
    assert fake_llm_server.last_request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    settings.load(fake_settings_dict(fake_llm_server, api_key="sk-rotated-key"))
    client.create_completion(USER)
    assert fake_llm_server.last_request.headers["authorization"] == "Bearer sk-rotated-key"


def test_cookies_a_provider_sets_are_sent_back(fake_settings, fake_llm_server):
    fake_llm_server.enqueue(
        Reply(
            raw_body=json.dumps(OPENAI_REPLY).encode(),
            raw_content_type="application/json",
            headers={"set-cookie": "affinity=node-7; Path=/"},
        )
    )
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    try:
        assert client.create_completion(USER).content == "hi"
        assert "cookie" not in fake_llm_server.last_request.headers
        client.create_completion(USER)
        assert fake_llm_server.last_request.headers["cookie"] == "affinity=node-7"
    finally:
        shared_sync_transport().client(None).cookies.clear()


def test_a_given_http_client_keeps_its_own_defaults(fake_settings, fake_llm_server):
    with httpx.Client(headers={"x-team": "search", "user-agent": "team-agent/1"}, params={"tenant": "t1"}) as http:
        client = create_chat_client(BackendType.OpenAI, model="gpt-4o", http_client=http)
        client.create_completion(USER)
        client.create_completion(USER, extra_headers={"x-team": "ads"})
    first, second = fake_llm_server.requests[-2:]
    assert (first.headers["x-team"], first.headers["user-agent"], first.query) == ("search", "team-agent/1", {"tenant": "t1"})
    assert second.headers["x-team"] == "ads"
    assert first.headers["authorization"] == f"Bearer {FAKE_KEY}"


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json", "accept": "application/json", "authorization": "Bearer sk-test"},
        {"x-api-key": "sk-test", "anthropic-version": "2023-06-01", "User-Agent": "mine/2"},
        {"content-type": "application/json", "Host": "proxy.example:8443", "content-length": "2"},
    ],
)
@pytest.mark.parametrize("body", [b'{"model":"m","messages":[]}', None])
@pytest.mark.parametrize("face", [SyncTransport, AsyncTransport])
def test_the_request_is_the_one_httpx_build_request_makes(headers, body, face):
    """Same method, URL, header list (names, order, values), body and timeouts as
    ``client.build_request`` — the kept URL and headers change nothing on the wire."""
    transport = face()
    url = "http://127.0.0.1:9/v1/chat/completions?api-version=2024-10-21"
    http = httpx.Client(timeout=None) if face is SyncTransport else httpx.AsyncClient(timeout=None)
    for _ in range(2):  # built, then from what was kept
        ours = transport.request(http, HttpRequest("POST", url, headers, body), Timeouts(3.0, 30.0))
        theirs = http.build_request(
            "POST", url, headers=headers, content=body, timeout=httpx.Timeout(3.0, read=30.0, write=30.0, pool=30.0)
        )
        assert (ours.method, ours.url, ours.headers.raw, ours.content) == (theirs.method, theirs.url, theirs.headers.raw, theirs.content)
        assert ours.extensions == theirs.extensions


def _recording_client(face: type, seen: list[tuple], cookie: bool) -> httpx.Client | httpx.AsyncClient:
    """A client whose transport records each request as it arrives and answers the first with a cookie."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url), request.headers.raw, request.content, request.extensions))
        headers = {"content-type": "application/json"}
        if cookie and len(seen) == 1:
            headers["set-cookie"] = "affinity=node-7; Path=/"
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(json.dumps(OPENAI_REPLY).encode()))  # unread, as off a socket

    mock = httpx.MockTransport(handle)
    return httpx.Client(transport=mock, timeout=None) if face is SyncTransport else httpx.AsyncClient(transport=mock, timeout=None)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/v1/chat/completions", "http://team:s3cret@127.0.0.1:9/v1/chat/completions"])
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("face", [SyncTransport, AsyncTransport])
def test_the_transport_receives_what_client_send_would_hand_it(face, stream, url):
    """Our own clients hand requests to their transport directly (no ``client.send``): the
    transport still receives exactly what ``send`` would give it — basic auth from a URL's
    credentials, and the cookie a provider set, sent back on the next request — and the answer
    reads the same."""
    headers = {"content-type": "application/json", "authorization": "Bearer sk-test"}
    body = b'{"model":"gpt-4o","messages":[]}'
    ours: list[tuple] = []
    theirs: list[tuple] = []
    transport = face()
    mine = _recording_client(face, ours, cookie=True)
    plain = _recording_client(face, theirs, cookie=True)
    effect = (Open if stream else Send)(HttpRequest("POST", url, headers, body), Timeouts(3.0, 30.0), None)

    async def run_async() -> list[bytes]:
        assert isinstance(transport, AsyncTransport) and isinstance(plain, httpx.AsyncClient)
        transport._per_loop[asyncio.get_running_loop()] = {None: mine}  # type: ignore[dict-item]
        answers = []
        for _ in range(2):
            got = await transport.perform(effect)
            answers.append(b"".join([c async for c in got.chunks]) if stream else got.body)
            response = await plain.send(transport.request(plain, effect.request, effect.timeouts))
            assert response.json() == OPENAI_REPLY
        return answers

    if isinstance(transport, SyncTransport):
        assert isinstance(plain, httpx.Client)
        transport._own[None] = mine  # type: ignore[assignment]
        answers = []
        for _ in range(2):
            got = transport.perform(effect)
            answers.append(b"".join(got.chunks) if stream else got.body)
            assert plain.send(transport.request(plain, effect.request, effect.timeouts)).json() == OPENAI_REPLY
    else:
        answers = asyncio.run(run_async())
    assert [json.loads(a) for a in answers] == [OPENAI_REPLY, OPENAI_REPLY]
    assert ours == theirs
    first, second = ours
    assert (b"Cookie", b"affinity=node-7") not in first[2] and (b"Cookie", b"affinity=node-7") in second[2]
    if "s3cret" in url:
        assert [value for name, value in second[2] if name.lower() == b"authorization"] == [b"Basic dGVhbTpzM2NyZXQ="]
