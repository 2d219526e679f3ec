"""AWS Bedrock endpoints (Converse API, SigV4) through the public API, against the fake server."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import quote

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.errors import (
    AuthenticationError,
    BadRequestError,
    ContextLengthExceededError,
    InvalidRequestError,
    PartialStreamError,
    RateLimitError,
    ServerError,
    SettingsError,
)
from vv_llm.settings import settings
from vv_llm.testing import Reply, ToolCallSpec

MODEL = "claude-sonnet-4-5"
MODEL_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
KEY_ID = "AKIAFAKEBEDROCK0001"
SECRET = "fake/Secret+Access/Key0123456789abcdefghij"
TOKEN = "FwoGZXIvYXdzEFAKESESSIONTOKEN"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
}
USER = [{"role": "user", "content": "hello"}]


def bedrock_settings(server, *, credentials=None, region="us-east-1", retry=None, **endpoint):
    creds = {"access_key_id": KEY_ID, "secret_access_key": SECRET} if credentials is None else credentials
    settings_endpoint = {"id": "bedrock-east", "api_base": server.url(), "is_bedrock": True, "region": region, **endpoint}
    if creds:
        settings_endpoint["credentials"] = creds
    return {
        "VERSION": "2",
        "endpoints": [settings_endpoint],
        "backends": {"anthropic": {"models": {MODEL: {"id": MODEL_ID, "endpoints": ["bedrock-east"]}}}},
        "retry": retry or {"max_attempts": 1},
    }


@pytest.fixture
def use_settings(fake_llm_server):
    def load(**kwargs):
        settings.load(bedrock_settings(fake_llm_server, **kwargs))
        return create_chat_client(BackendType.Anthropic, model=MODEL)

    yield load
    settings.reset()


@pytest.fixture
def client(use_settings):
    return use_settings()


def body_of(server) -> dict:
    return server.last_request.json


def run(stream):
    for _ in stream:
        pass
    return stream.message


def verify_signature(request, base_url: str, secret: str = SECRET, token: str | None = None) -> None:
    """Recompute the SigV4 signature of what the server received, as AWS does."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    auth = request.headers["authorization"]
    scope = auth.split("Credential=")[1].split(",")[0]
    key_id, _date, region, service, _ = scope.split("/")
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {name: request.headers[name] for name in signed if name != "host"}
    received = AWSRequest(method=request.method, url=base_url + request.path, data=request.body, headers=headers)
    received.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(key_id, secret, token), service, region)
    expected = signer.signature(signer.string_to_sign(received, signer.canonical_request(received)), received)
    assert auth.endswith(f"Signature={expected}"), "signature does not match the request as received"


def test_completion_is_sigv4_signed_converse(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="Paris.", prompt_tokens=30, completion_tokens=3))
    reply = client.create_completion([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital?"}], temperature=0.2)
    assert reply.content == "Paris." and reply.finish_reason == "stop" and reply.endpoint_id == "bedrock-east"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (30, 3, 33)
    request = fake_llm_server.last_request
    assert request.path == f"/model/{quote(MODEL_ID, safe='')}/converse"
    assert request.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEY_ID}/")
    assert "/us-east-1/bedrock/aws4_request" in request.headers["authorization"]
    verify_signature(request, fake_llm_server.url())
    assert request.json == {
        "messages": [{"role": "user", "content": [{"text": "Capital?"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 8192, "temperature": 0.2},
    }


def test_stream(client, fake_llm_server):
    text = "Streaming through AWS event-stream frames."
    fake_llm_server.enqueue(Reply(content=text, chunk_chars=5, prompt_tokens=11, completion_tokens=8))
    stream = client.create_stream(USER)
    pieces = [d.content for d in stream if d.content]
    assert "".join(pieces) == text and len(pieces) == len(range(0, len(text), 5))
    message = stream.message
    assert message.finish_reason == "stop" and (message.usage.prompt_tokens, message.usage.completion_tokens) == (11, 8)
    request = fake_llm_server.last_request
    assert request.path.endswith("/converse-stream") and request.headers["accept"] == "application/vnd.amazon.eventstream"
    verify_signature(request, fake_llm_server.url())


def test_async_completion_and_stream(use_settings, fake_llm_server):
    use_settings()
    fake_llm_server.enqueue(Reply(content="async one"), Reply(content="async two", chunk_chars=2))

    async def main():
        client = create_async_chat_client(BackendType.Anthropic, model=MODEL)
        reply = await client.create_completion(USER)
        pieces = [d.content async for d in client.create_stream(USER) if d.content]
        return reply, pieces

    reply, pieces = asyncio.run(main())
    assert reply.content == "async one" and "".join(pieces) == "async two"


def test_session_token_is_signed(use_settings, fake_llm_server):
    client = use_settings(credentials={"access_key_id": KEY_ID, "secret_access_key": SECRET, "session_token": TOKEN})
    client.create_completion(USER)
    request = fake_llm_server.last_request
    assert request.headers["x-amz-security-token"] == TOKEN
    verify_signature(request, fake_llm_server.url(), token=TOKEN)


def test_bedrock_api_key_is_a_bearer_token(use_settings, fake_llm_server):
    client = use_settings(credentials={}, api_key="bedrock-api-key-123")
    fake_llm_server.api_keys = {"bedrock-api-key-123"}
    assert client.create_completion(USER).content
    assert fake_llm_server.last_request.headers["authorization"] == "Bearer bedrock-api-key-123"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_tools_across_two_turns(client, fake_llm_server, stream):
    fake_llm_server.enqueue(Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Zürich"}, id="tooluse_1")], chunk_chars=4))
    messages = [{"role": "user", "content": "Weather in Zürich?"}]
    result = client.create_completion(messages, tools=[WEATHER_TOOL], tool_choice="required", stream=stream)
    if stream:
        result = run(result)
    assert result.finish_reason == "tool_calls"
    assert [(c.id, c.function.name, c.parsed_arguments()) for c in result.tool_calls] == [("tooluse_1", "get_weather", {"city": "Zürich"})]
    assert body_of(fake_llm_server)["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": WEATHER_TOOL["function"]["parameters"]}}}],
        "toolChoice": {"any": {}},
    }

    fake_llm_server.enqueue(Reply(content="Sunny."))
    follow_up = [*messages, result.to_openai_message(), {"role": "tool", "tool_call_id": "tooluse_1", "content": "sunny"}]
    final = client.create_completion(follow_up, tools=[WEATHER_TOOL], stream=stream)
    if stream:
        final = run(final)
    assert final.content == "Sunny."
    sent = body_of(fake_llm_server)["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Zürich"}}}],
    }
    assert sent[2] == {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "sunny"}]}}]}


def test_images_are_sent_inline(client, fake_llm_server):
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    client.create_completion(
        [{"role": "user", "content": [{"type": "text", "text": "What?"}, {"type": "image_url", "image_url": {"url": data_url}}]}]
    )
    assert body_of(fake_llm_server)["messages"][0]["content"][1] == {
        "image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}
    }
    fake_llm_server.reset()
    with pytest.raises(InvalidRequestError, match="inline"):
        client.create_completion([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}])
    assert fake_llm_server.requests == []


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_thinking_round_trip(client, fake_llm_server, stream):
    fake_llm_server.enqueue(
        Reply(reasoning="Check the weather.", signature="sig-b", tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"}, id="tooluse_9")])
    )
    messages = [{"role": "user", "content": "Oslo?"}]
    first = client.create_completion(messages, tools=[WEATHER_TOOL], thinking=True, temperature=0.7, stream=stream)
    if stream:
        first = run(first)
    assert first.reasoning_content == "Check the weather."
    assert first.provider_content == [{"type": "thinking", "thinking": "Check the weather.", "signature": "sig-b"}]
    body = body_of(fake_llm_server)
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert "temperature" not in body["inferenceConfig"] and body["inferenceConfig"]["maxTokens"] > 2048

    fake_llm_server.enqueue(Reply(content="Cold."))
    turn = [*messages, first.to_openai_message(), {"role": "tool", "tool_call_id": "tooluse_9", "content": "-3°C"}]
    assert client.create_completion(turn, tools=[WEATHER_TOOL], thinking=True).content == "Cold."
    assert body_of(fake_llm_server)["messages"][1]["content"][0] == {
        "reasoningContent": {"reasoningText": {"text": "Check the weather.", "signature": "sig-b"}}
    }


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_prompt_cache(client, fake_llm_server, stream):
    fake_llm_server.enqueue(Reply(content="ok", prompt_tokens=3000, cached_tokens=2500, cache_creation_tokens=400, completion_tokens=2))
    messages = [
        {"role": "system", "content": "Long rules."},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    result = client.create_completion(messages, tools=[WEATHER_TOOL], prompt_cache=True, stream=stream)
    if stream:
        result = run(result)
    usage = result.usage
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_creation_tokens, usage.total_tokens) == (3000, 2500, 400, 3002)
    body = body_of(fake_llm_server)
    point = {"cachePoint": {"type": "default"}}
    assert body["system"] == [{"text": "Long rules."}, point]
    assert body["toolConfig"]["tools"][-1] == point
    assert body["messages"][0]["content"] == [{"text": "a"}, point]
    assert body["messages"][2]["content"] == [{"text": "c"}, point]


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "error_type", "status"),
    [
        (Reply.error(400, "Malformed input request"), BadRequestError, 400),
        (Reply.error(400, "Input is too long for requested model."), ContextLengthExceededError, 400),
        (Reply.error(403, "You don't have access to the model with the specified model ID."), AuthenticationError, 403),
        (Reply.error(429, "Too many requests, please wait before trying again."), RateLimitError, 429),
        (Reply.error(408, "Model has timed out in processing the request."), ServerError, 408),
        (Reply.error(503, "Service is unavailable."), ServerError, 503),
    ],
    ids=["validation", "too-long", "access", "throttled", "model-timeout", "unavailable"],
)
def test_http_errors_are_typed(client, fake_llm_server, reply, error_type, status):
    fake_llm_server.enqueue(reply)
    with pytest.raises(error_type) as info:
        client.create_completion(USER)
    error = info.value
    assert type(error) is error_type and error.status == status
    assert error.provider == "bedrock" and error.endpoint_id == "bedrock-east" and error.request_id
    assert reply.error_message in str(error)
    assert SECRET not in str(error) and SECRET not in repr(error.body)


def test_unknown_access_key_is_an_authentication_error(client, fake_llm_server):
    fake_llm_server.api_keys = {"AKIASOMEONEELSE"}
    with pytest.raises(AuthenticationError, match="security token"):
        client.create_completion(USER)


def test_in_stream_exception_before_output_fails_over(use_settings, fake_llm_server):
    client = use_settings(retry={"max_attempts": 2, "backoff_initial": 0, "backoff_max": 0})
    fake_llm_server.enqueue(Reply(content="never", stream_error_after_chunks=0), Reply(content="recovered"))
    assert run(client.create_stream(USER)).content == "recovered"


def test_in_stream_exception_after_output_is_partial(client, fake_llm_server):
    fake_llm_server.enqueue(
        Reply(content="abcdefghij", chunk_chars=2, stream_error_after_chunks=3, error_message="Bedrock is unable to process your request.")
    )
    with pytest.raises(PartialStreamError) as info:
        run(client.create_stream(USER))
    assert info.value.partial.content == "abcdef" and isinstance(info.value.__cause__, ServerError)
    assert "unable to process" in str(info.value)


def test_corrupt_frame_after_output_is_partial(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="abcdefgh", chunk_chars=2, malformed_after_chunks=2))
    with pytest.raises(PartialStreamError) as info:
        run(client.create_stream(USER))
    assert info.value.partial.content == "abcd"


def test_stream_cut_before_metadata_is_partial(client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="abcdef", end_stream_early=True))
    with pytest.raises(PartialStreamError) as info:
        run(client.create_stream(USER))
    assert info.value.partial.content == "abcdef" and info.value.partial.finish_reason == "stop"


# -- credentials problems surface at client creation ---------------------------------------
@pytest.mark.parametrize("region", ["us-east", "US-EAST-1", "useast1", "mars-1"])
def test_bad_region_names_the_field(use_settings, region):
    with pytest.raises(SettingsError) as info:
        use_settings(region=region)
    assert info.value.errors[0][0] == "endpoints[bedrock-east].region" and region in str(info.value)


def test_half_credentials_name_the_missing_field(use_settings):
    with pytest.raises(SettingsError) as info:
        use_settings(credentials={"access_key_id": KEY_ID})
    assert info.value.errors[0][0] == "endpoints[bedrock-east].credentials.secret_access_key"
    assert KEY_ID not in str(info.value)


@pytest.fixture
def empty_aws_environment(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def test_no_credentials_anywhere(use_settings, empty_aws_environment):
    with pytest.raises(SettingsError) as info:
        use_settings(credentials={})
    assert info.value.errors[0][0] == "endpoints[bedrock-east].credentials" and "no AWS credentials" in str(info.value)


def test_unknown_profile(use_settings, empty_aws_environment):
    with pytest.raises(SettingsError) as info:
        use_settings(credentials={"profile": "nope"})
    assert info.value.errors[0][0] == "endpoints[bedrock-east].credentials.profile"


def test_profile_from_the_aws_credentials_file(use_settings, fake_llm_server, empty_aws_environment):
    (empty_aws_environment / "credentials").write_text(f"[team]\naws_access_key_id = AKIAPROFILEKEY\naws_secret_access_key = {SECRET}\n")
    client = use_settings(credentials={"profile": "team"})
    client.create_completion(USER)
    request = fake_llm_server.last_request
    assert "Credential=AKIAPROFILEKEY/" in request.headers["authorization"]
    verify_signature(request, fake_llm_server.url())


def test_standard_environment_chain(use_settings, fake_llm_server, empty_aws_environment, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    use_settings(credentials={}).create_completion(USER)
    assert "Credential=AKIAENVIRONMENT/" in fake_llm_server.last_request.headers["authorization"]


def test_inference_options_and_model_parameters(client, fake_llm_server):
    client.create_completion(USER, stop="END", top_p=0.9, max_tokens=321, top_k=40, response_format={"type": "json_object"})
    body = body_of(fake_llm_server)
    assert body["inferenceConfig"] == {"maxTokens": 321, "topP": 0.9, "stopSequences": ["END"]}
    assert body["additionalModelRequestFields"] == {"top_k": 40}
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "response"}}  # Converse has no JSON mode: a forced tool


def test_other_converse_models(fake_llm_server):
    settings.load(
        {
            "VERSION": "2",
            "endpoints": [
                {
                    "id": "bedrock-west",
                    "api_base": fake_llm_server.url(),
                    "is_bedrock": True,
                    "region": "us-west-2",
                    "credentials": {"access_key_id": KEY_ID, "secret_access_key": SECRET},
                }
            ],
            "backends": {
                "mistral": {"models": {"mistral-large": {"id": "mistral.mistral-large-2407-v1:0", "endpoints": ["bedrock-west"]}}}
            },
        }
    )
    try:
        client = create_chat_client(BackendType.Mistral, model="mistral-large")
        fake_llm_server.enqueue(Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Lyon"}, id="tooluse_m")]))
        reply = client.create_completion(USER, tools=[WEATHER_TOOL], thinking=True)
    finally:
        settings.reset()
    assert reply.tool_calls[0].parsed_arguments() == {"city": "Lyon"} and reply.endpoint_id == "bedrock-west"
    request = fake_llm_server.last_request
    assert request.path == "/model/mistral.mistral-large-2407-v1%3A0/converse"
    assert "/us-west-2/bedrock/aws4_request" in request.headers["authorization"]
    assert "additionalModelRequestFields" not in request.json  # thinking is Claude's option only


def test_no_secret_reaches_the_logs(use_settings, fake_llm_server, caplog):
    client = use_settings(credentials={"access_key_id": KEY_ID, "secret_access_key": SECRET, "session_token": TOKEN})
    with caplog.at_level("DEBUG"):
        client.create_completion(USER)
        run(client.create_stream(USER))
    assert caplog.records  # botocore and httpx did log at DEBUG
    assert TOKEN not in caplog.text and SECRET not in caplog.text
