"""Claude on Vertex AI endpoints through the public API: a service account with a locally generated
key, tokens from the fake Google token endpoint, the Messages API behind ``:rawPredict``."""

from __future__ import annotations

import asyncio
import json

import anthropic
import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.chat_clients.adapters.google_credentials import clear_credentials_cache, vertex_credentials
from vv_llm.errors import AuthenticationError, RateLimitError, ServerError, SettingsError
from vv_llm.settings import settings
from vv_llm.testing import Reply, ToolCallSpec
from vv_llm.testing.wires.google_oauth import token_requests

MODEL = "claude-sonnet-4-5"
MODEL_ID = "claude-sonnet-4-5@20250929"
PROJECT = "vv-llm-test-project"
REGION = "us-east5"
USER = [{"role": "user", "content": "hello"}]
BASE_PATH = f"/v1/projects/{PROJECT}/locations/{REGION}/publishers/anthropic/models/{MODEL_ID}"
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}


@pytest.fixture
def service_account(private_key_pem, fake_llm_server):
    def make(token_query: str = "") -> dict:
        return {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "0123456789abcdef",
            "private_key": private_key_pem,
            "client_email": "vv-llm@vv-llm-test-project.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": fake_llm_server.url("/token" + token_query),
        }

    return make


@pytest.fixture
def use_settings(fake_llm_server, service_account):
    clear_credentials_cache()

    def load(credentials=None, retry=None, **endpoint):
        setting = {"id": "vertex-claude", "api_base": fake_llm_server.url(), "is_vertex": True, "region": REGION, **endpoint}
        setting["credentials"] = credentials if credentials is not None else {"service_account_info": service_account()}
        settings.load(
            {
                "VERSION": "2",
                "endpoints": [setting],
                "backends": {"anthropic": {"models": {MODEL: {"id": MODEL_ID, "endpoints": ["vertex-claude"]}}}},
                "retry": retry or {"max_attempts": 1},
            }
        )
        return create_chat_client(BackendType.Anthropic, model=MODEL)

    yield load
    settings.reset()
    clear_credentials_cache()


def run(stream):
    for _ in stream:
        pass
    return stream.message


def test_completion_uses_raw_predict_and_a_cached_token(use_settings, fake_llm_server):
    client = use_settings()
    fake_llm_server.enqueue(Reply(content="Hi from Vertex.", prompt_tokens=20, completion_tokens=4), Reply(content="again"))
    reply = client.create_completion([{"role": "system", "content": "Be nice."}, *USER])
    assert reply.content == "Hi from Vertex." and reply.finish_reason == "stop" and reply.endpoint_id == "vertex-claude"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (20, 4)
    request = fake_llm_server.last_request
    assert request.path == BASE_PATH + ":rawPredict"
    assert request.headers["authorization"].startswith("Bearer ya29.")
    assert "x-api-key" not in request.headers
    assert request.json == {
        "anthropic_version": "vertex-2023-10-16",
        "max_tokens": 8192,
        "messages": [{"role": "user", "content": "hello"}],
        "system": "Be nice.",
    }
    assert client.create_completion(USER).content == "again"
    assert len(token_requests(fake_llm_server)) == 1  # the token is cached


def test_stream_uses_stream_raw_predict(use_settings, fake_llm_server):
    client = use_settings()
    fake_llm_server.enqueue(Reply(content="streamed from vertex", reasoning="hm", chunk_chars=4))
    message = run(client.create_stream(USER, thinking=True))
    assert message.content == "streamed from vertex" and message.reasoning_content == "hm"
    assert message.provider_content == [{"type": "thinking", "thinking": "hm", "signature": "sig-demo"}]
    request = fake_llm_server.last_request
    assert request.path == BASE_PATH + ":streamRawPredict"
    assert request.json["stream"] is True and "model" not in request.json


def test_async_client_refreshes_tokens(use_settings, fake_llm_server, service_account):
    # Tokens living 10 s are always within the 5-minute refresh margin: every call fetches one.
    use_settings(credentials={"service_account_info": service_account("?expires_in=10")})
    fake_llm_server.enqueue(Reply(content="one"), Reply(content="two", chunk_chars=1))

    async def main():
        client = create_async_chat_client(BackendType.Anthropic, model=MODEL)
        first = await client.create_completion(USER)
        pieces = [d.content async for d in client.create_stream(USER) if d.content]
        return first.content, "".join(pieces)

    assert asyncio.run(main()) == ("one", "two")
    assert len(token_requests(fake_llm_server)) == 2


def test_tools_across_two_turns(use_settings, fake_llm_server):
    client = use_settings()
    fake_llm_server.enqueue(Reply(tool_calls=[ToolCallSpec("lookup", {"q": "x"}, id="toolu_v1")]), Reply(content="done"))
    messages = [{"role": "user", "content": "look it up"}]
    first = run(client.create_stream(messages, tools=[TOOL]))
    assert first.tool_calls[0].id == "toolu_v1" and first.tool_calls[0].parsed_arguments() == {"q": "x"}
    follow = [*messages, first.to_openai_message(), {"role": "tool", "tool_call_id": "toolu_v1", "content": "found"}]
    assert client.create_completion(follow, tools=[TOOL]).content == "done"
    assert fake_llm_server.last_request.json["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_v1", "content": "found"}
    ]


@pytest.mark.parametrize(
    ("reply", "error_type", "status"),
    [
        (Reply.error(529, "Overloaded"), ServerError, 529),
        (Reply.error(429, "Quota exceeded for aiplatform.googleapis.com"), RateLimitError, 429),
    ],
    ids=["overloaded", "quota"],
)
def test_errors_are_typed(use_settings, fake_llm_server, reply, error_type, status):
    client = use_settings()
    fake_llm_server.enqueue(reply)
    with pytest.raises(error_type) as info:
        client.create_completion(USER)
    assert info.value.status == status and info.value.provider == "vertex" and reply.error_message in str(info.value)


def test_refused_token_is_an_authentication_error(use_settings, fake_llm_server, service_account):
    client = use_settings()
    vertex_credentials(settings.get_endpoint("vertex-claude")).refresh()
    from vv_llm.testing.wires import google_oauth

    google_oauth._ISSUED_TOKENS.clear()  # the server forgets every token it issued, as after a revocation
    with pytest.raises(AuthenticationError) as info:
        client.create_completion(USER)
    assert info.value.status == 401 and "invalid authentication credentials" in str(info.value)
    assert "ya29." not in str(info.value)


def test_token_endpoint_refusal_is_an_authentication_error(use_settings, fake_llm_server, service_account):
    client = use_settings(credentials={"service_account_info": service_account("?fail=invalid_grant")})
    with pytest.raises(AuthenticationError, match="credentials"):
        client.create_completion(USER)


def test_missing_service_account_file_fails_at_client_creation(use_settings, tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(SettingsError) as info:
        use_settings(credentials={"project_id": PROJECT, "service_account_file": str(missing)})
    assert info.value.errors[0][0] == "endpoints[vertex-claude].credentials.service_account_file"
    assert str(missing) in str(info.value)


def test_service_account_file(use_settings, fake_llm_server, service_account, tmp_path):
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(service_account()))
    client = use_settings(credentials={"service_account_file": str(path)})
    assert client.create_completion(USER).content


def test_regional_and_global_urls(use_settings, fake_settings):
    from vv_llm.chat_clients.adapters import adapter_for
    from vv_llm.chat_clients.adapters.base import CallParams

    for region, host in (
        ("europe-west1", "https://europe-west1-aiplatform.googleapis.com"),
        ("global", "https://aiplatform.googleapis.com"),
    ):
        use_settings(api_base=None, region=region)
        endpoint = settings.resolve(BackendType.Anthropic, MODEL).endpoints[0]
        request = adapter_for(BackendType.Anthropic, endpoint).build_request(CallParams(messages=USER, model_id=MODEL_ID, stream=True))
        assert request.url == f"{host}/v1/projects/{PROJECT}/locations/{region}/publishers/anthropic/models/{MODEL_ID}:streamRawPredict"


def test_anthropic_vertex_sdk_reads_our_vertex_wire(use_settings, fake_llm_server):
    use_settings()
    credentials = vertex_credentials(settings.get_endpoint("vertex-claude"))
    credentials.refresh()
    token = credentials.auth_headers()["authorization"][7:]
    fake_llm_server.enqueue(Reply(content="sdk json"), Reply(content="sdk stream", reasoning="r", chunk_chars=3))
    sdk = anthropic.AnthropicVertex(
        region=REGION, project_id=PROJECT, access_token=token, base_url=fake_llm_server.url("/v1"), max_retries=0
    )
    message = sdk.messages.create(model=MODEL_ID, max_tokens=100, messages=USER)
    assert message.content[0].text == "sdk json" and message.id.startswith("msg_vrtx_")
    assert fake_llm_server.last_request.path == BASE_PATH + ":rawPredict"
    with sdk.messages.stream(model=MODEL_ID, max_tokens=4000, messages=USER, thinking={"type": "enabled", "budget_tokens": 1024}) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"] and final.content[1].text == "sdk stream"
    assert fake_llm_server.last_request.path == BASE_PATH + ":streamRawPredict"
