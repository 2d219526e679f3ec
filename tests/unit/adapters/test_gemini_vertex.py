"""Gemini on Vertex AI endpoints through the public API: service-account credentials with a locally
generated key, tokens from the fake Google token endpoint, Google's regional URLs."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.chat_clients.adapters.google_credentials import clear_credentials_cache
from vv_llm.errors import APIConnectionError, AuthenticationError, RateLimitError, SettingsError
from vv_llm.settings import settings
from vv_llm.testing import Reply, ToolCallSpec, unused_port
from vv_llm.testing.wires.google_oauth import GoogleOAuthWire, token_requests

MODEL = "gemini-2.5-pro"
PROJECT = "vv-llm-test-project"
REGION = "europe-west4"
USER = [{"role": "user", "content": "hello"}]
PATH = f"/v1/projects/{PROJECT}/locations/{REGION}/publishers/google/models/{MODEL}"


@pytest.fixture
def service_account(private_key_pem, fake_llm_server):
    def make(token_query: str = "", **changes) -> dict:
        info = {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "fedcba9876543210",
            "private_key": private_key_pem,
            "client_email": "vv-llm@vv-llm-test-project.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": fake_llm_server.url("/token" + token_query),
        }
        info.update(changes)
        return {k: v for k, v in info.items() if v is not None}

    return make


@pytest.fixture
def load(fake_llm_server, service_account):
    """Load settings with one Vertex endpoint for Gemini; returns the settings dict loaded."""
    clear_credentials_cache()

    def load_settings(credentials=None, retry=None, **endpoint):
        setting = {"id": "vertex-gemini", "api_base": fake_llm_server.url(), "is_vertex": True, "region": REGION, **endpoint}
        if setting["api_base"] is None:
            del setting["api_base"]
        setting["credentials"] = credentials if credentials is not None else {"service_account_info": service_account()}
        data = {
            "VERSION": "2",
            "endpoints": [setting],
            "backends": {"gemini": {"endpoints": ["vertex-gemini"]}},
            "retry": retry or {"max_attempts": 1},
        }
        settings.load(data)
        return data

    yield load_settings
    settings.reset()
    clear_credentials_cache()
    GoogleOAuthWire.on_request = None


def test_calls_use_regional_path_and_one_cached_token(load, fake_llm_server):
    load()
    client = create_chat_client(BackendType.Gemini, model=MODEL)
    fake_llm_server.enqueue(Reply(content="first"), Reply(content="second", chunk_chars=2))
    assert client.create_completion(USER, temperature=0.1).content == "first"
    stream = client.create_stream(USER)
    assert "".join(d.content or "" for d in stream) == "second" and stream.message.finish_reason == "stop"
    model_calls = [r for r in fake_llm_server.requests if r.protocol == "vertex-gemini"]
    assert [r.path for r in model_calls] == [f"{PATH}:generateContent", f"{PATH}:streamGenerateContent"]
    assert model_calls[1].query == {"alt": "sse"}
    assert len(token_requests(fake_llm_server)) == 1
    tokens = {r.headers["authorization"] for r in model_calls}
    assert len(tokens) == 1 and next(iter(tokens)).startswith("Bearer ya29.")
    assert "x-goog-api-key" not in model_calls[0].headers
    assert model_calls[0].json == {"contents": [{"role": "user", "parts": [{"text": "hello"}]}], "generationConfig": {"temperature": 0.1}}
    grant = dict(x.split("=", 1) for x in token_requests(fake_llm_server)[0].body.decode().split("&"))
    assert grant["grant_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" and grant["assertion"].count(".") == 2
    # Another client of the same endpoint shares the token.
    create_chat_client(BackendType.Gemini, model=MODEL).create_completion(USER)
    assert len(token_requests(fake_llm_server)) == 1


def test_token_is_refreshed_before_it_expires(load, fake_llm_server, service_account):
    # Tokens that live 60 s are inside the 5-minute refresh margin: every call fetches a new one.
    load(credentials={"service_account_info": service_account("?expires_in=60")})
    client = create_chat_client(BackendType.Gemini, model=MODEL)
    for _ in range(3):
        client.create_completion(USER)
    assert len(token_requests(fake_llm_server)) == 3
    bearer = [r.headers["authorization"] for r in fake_llm_server.requests if r.protocol == "vertex-gemini"]
    assert len(set(bearer)) == 3


async def test_async_refresh_does_not_block_the_event_loop(load, fake_llm_server):
    load()
    client = create_async_chat_client(BackendType.Gemini, model=MODEL)
    in_flight = threading.Event()
    loop_ran = threading.Event()
    held: list[bool] = []

    def hold(_request):
        in_flight.set()
        held.append(loop_ran.wait(timeout=10))  # released only if the event loop keeps running

    GoogleOAuthWire.on_request = hold

    async def other_work():
        while not in_flight.is_set():
            await asyncio.sleep(0.005)
        loop_ran.set()

    fake_llm_server.enqueue(Reply(content="not blocked"))
    reply, _ = await asyncio.gather(client.create_completion(USER), other_work())
    assert reply.content == "not blocked" and held == [True]


async def test_async_stream_and_concurrent_calls_share_one_refresh(load, fake_llm_server):
    load()
    client = create_async_chat_client(BackendType.Gemini, model=MODEL)
    replies = await asyncio.gather(*(client.create_completion([{"role": "user", "content": f"q{i}"}]) for i in range(6)))
    assert all(r.content for r in replies)
    assert len(token_requests(fake_llm_server)) == 1
    fake_llm_server.enqueue(Reply(content="streamed", chunk_chars=3))
    stream = client.create_stream(USER)
    assert "".join([d.content async for d in stream if d.content]) == "streamed"


def test_tools_and_thinking_on_vertex(load, fake_llm_server):
    load()
    client = create_chat_client(BackendType.Gemini, model=MODEL)
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}
    fake_llm_server.enqueue(Reply(reasoning="need data", tool_calls=[ToolCallSpec("lookup", {"q": "x"})]), Reply(content="done"))
    first = client.create_completion(USER, tools=[tool], thinking=True)
    assert first.reasoning_content == "need data" and first.tool_calls[0].function.name == "lookup"
    assert json.loads(fake_llm_server.last_request.body)["generationConfig"]["thinkingConfig"] == {"includeThoughts": True}
    messages = [*USER, first.to_openai_message(), {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "42"}]
    assert client.create_completion(messages, tools=[tool], thinking=True).content == "done"
    contents = fake_llm_server.last_request.json["contents"]
    assert contents[1]["parts"] == first.provider_content
    assert contents[2] == {"role": "user", "parts": [{"functionResponse": {"name": "lookup", "response": {"output": 42}}}]}


def test_service_account_file(load, fake_llm_server, service_account, tmp_path):
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(service_account()))
    load(credentials={"service_account_file": str(path)})
    assert create_chat_client(BackendType.Gemini, model=MODEL).create_completion(USER).content
    assert fake_llm_server.last_request.path.startswith(f"/v1/projects/{PROJECT}/")


def test_missing_service_account_file_fails_at_client_creation(load, fake_llm_server, tmp_path):
    missing = tmp_path / "nope" / "sa.json"
    load(credentials={"service_account_file": str(missing)})
    with pytest.raises(SettingsError) as caught:
        create_chat_client(BackendType.Gemini, model=MODEL)
    text = str(caught.value)
    assert "endpoints[vertex-gemini].credentials.service_account_file" in text and str(missing) in text and "No such file" in text
    with pytest.raises(SettingsError, match="service_account_file"):
        create_async_chat_client(BackendType.Gemini, model=MODEL)
    assert fake_llm_server.requests == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"private_key": None}, "missing private_key"),
        ({"type": "authorized_user"}, "not a service account key"),
        ({"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"}, "not a usable service account key"),
    ],
)
def test_unusable_service_account_info(load, service_account, private_key_pem, changes, expected):
    load(credentials={"service_account_info": service_account(**changes)})
    with pytest.raises(SettingsError, match=expected) as caught:
        create_chat_client(BackendType.Gemini, model=MODEL)
    assert "endpoints[vertex-gemini].credentials.service_account_info" in str(caught.value)
    assert private_key_pem.splitlines()[1] not in str(caught.value)


def test_bad_json_file(load, tmp_path):
    path = tmp_path / "sa.json"
    path.write_text("{not json")
    load(credentials={"service_account_file": str(path)})
    with pytest.raises(SettingsError, match="is not valid JSON"):
        create_chat_client(BackendType.Gemini, model=MODEL)


def test_unknown_project(load, fake_llm_server, service_account):
    load(credentials={"service_account_info": service_account(project_id=None)})
    with pytest.raises(SettingsError, match=r"endpoints\[vertex-gemini\]\.credentials\.project_id"):
        create_chat_client(BackendType.Gemini, model=MODEL)
    load(credentials={"project_id": "explicit-project", "service_account_info": service_account(project_id=None)})
    create_chat_client(BackendType.Gemini, model=MODEL).create_completion(USER)
    assert fake_llm_server.last_request.path.startswith("/v1/projects/explicit-project/locations/")


def test_environment_default_credentials(load, fake_llm_server, service_account, tmp_path, monkeypatch):
    path = tmp_path / "adc.json"
    path.write_text(json.dumps(service_account()))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    load(credentials={})
    assert create_chat_client(BackendType.Gemini, model=MODEL).create_completion(USER).content
    assert len(token_requests(fake_llm_server)) == 1
    assert fake_llm_server.last_request.path == f"{PATH}:generateContent"


def test_environment_default_credentials_missing(load, tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))
    load(credentials={"project_id": PROJECT})
    with pytest.raises(SettingsError) as caught:
        create_chat_client(BackendType.Gemini, model=MODEL)
    assert "endpoints[vertex-gemini].credentials" in str(caught.value) and "default Google credentials" in str(caught.value)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_refused_grant_is_an_authentication_error(load, fake_llm_server, service_account, private_key_pem, use_async):
    load(credentials={"service_account_info": service_account("?fail=invalid_grant")})
    with pytest.raises(AuthenticationError) as caught:
        if use_async:
            asyncio.run(create_async_chat_client(BackendType.Gemini, model=MODEL).create_completion(USER))
        else:
            create_chat_client(BackendType.Gemini, model=MODEL).create_completion(USER)
    error = caught.value
    assert error.provider == "vertex" and error.endpoint_id == "vertex-gemini" and "invalid_grant" in str(error)
    assert private_key_pem.splitlines()[1] not in str(error) and "assertion" not in str(error)
    assert [r.protocol for r in fake_llm_server.requests] == ["google-oauth"]


def test_unreachable_token_endpoint(load, service_account):
    load(credentials={"service_account_info": service_account(token_uri=f"http://127.0.0.1:{unused_port()}/token")})
    with pytest.raises(APIConnectionError, match="token endpoint") as caught:
        create_chat_client(BackendType.Gemini, model=MODEL).create_completion(USER)
    assert caught.value.provider == "vertex"


def test_rejected_bearer_token(load, fake_llm_server):
    load()
    client = create_chat_client(BackendType.Gemini, model=MODEL)
    with pytest.raises(AuthenticationError) as caught:
        client.create_completion(USER, extra_headers={"authorization": "Bearer ya29.stale"})
    assert caught.value.status == 401 and "invalid authentication credentials" in str(caught.value)
    assert "ya29.stale" not in str(caught.value)


def test_vertex_quota_error(load, fake_llm_server):
    load()
    fake_llm_server.enqueue(
        Reply.rate_limited(retry_after=2, message="Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute")
    )
    with pytest.raises(RateLimitError) as caught:
        create_chat_client(BackendType.Gemini, model=MODEL).create_completion(USER)
    assert caught.value.status == 429 and caught.value.retry_after == 2 and caught.value.provider == "vertex"


class _Redirect(httpx.HTTPTransport):
    """Sends every request to the fake server over a real socket, remembering the URL asked for."""

    def __init__(self, port: int):
        super().__init__()
        self.port = port
        self.asked: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        request.headers["host"] = f"127.0.0.1:{self.port}"
        return super().handle_request(request)


@pytest.mark.parametrize(
    ("region", "host"),
    [("us-central1", "https://us-central1-aiplatform.googleapis.com"), ("global", "https://aiplatform.googleapis.com")],
)
def test_google_hosts(load, fake_llm_server, region, host):
    load(api_base=None, region=region)
    transport = _Redirect(fake_llm_server.port)
    with httpx.Client(transport=transport) as http:
        create_chat_client(BackendType.Gemini, model=MODEL, http_client=http).create_completion(USER)
    assert transport.asked == [f"{host}/v1/projects/{PROJECT}/locations/{region}/publishers/google/models/{MODEL}:generateContent"]


def test_gemini_api_default_host(fake_llm_server):
    settings.load({"VERSION": "2", "endpoints": [{"id": "g", "api_key": "k-123"}], "backends": {"gemini": {"endpoints": ["g"]}}})
    try:
        transport = _Redirect(fake_llm_server.port)
        with httpx.Client(transport=transport) as http:
            client = create_chat_client(BackendType.Gemini, model="gemini-2.5-flash", http_client=http)
            client.create_completion(USER)
            list(client.create_stream(USER))
        assert transport.asked == [
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        ]
    finally:
        settings.reset()


def test_vertex_function_call_arguments_streamed_as_partial_args_are_assembled(load, fake_llm_server):
    """Vertex's opt-in ``streamFunctionCallArguments``: one call's arguments arrive as partialArgs
    pieces; the stream yields the whole call, and the next turn sends the assembled part back."""
    load()
    client = create_chat_client(BackendType.Gemini, model=MODEL)
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}
    arguments = {"q": "retrieval augmented generation", "limit": 5, "exact": False}
    fake_llm_server.enqueue(Reply(tool_calls=[ToolCallSpec("lookup", arguments)], chunk_chars=5), Reply(content="done"))
    streamed = {"functionCallingConfig": {"mode": "AUTO", "streamFunctionCallArguments": True}}
    stream = client.create_stream(USER, tools=[tool], tool_choice=streamed, thinking=True)
    deltas = list(stream)
    assert sum(1 for d in deltas if d.tool_calls) == 1  # one call, not one per piece
    first = stream.message
    assert [(c.function.name, c.parsed_arguments()) for c in first.tool_calls or []] == [("lookup", arguments)]
    messages = [*USER, first.to_openai_message(), {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "42"}]
    assert client.create_completion(messages, tools=[tool], thinking=True).content == "done"
    sent = fake_llm_server.last_request.json["contents"][1]["parts"]
    assert [p["functionCall"] for p in sent if "functionCall" in p] == [{"name": "lookup", "args": arguments}]
