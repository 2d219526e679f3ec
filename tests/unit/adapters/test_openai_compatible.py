"""Every OpenAI-compatible backend (and Azure OpenAI) through the public API, against the fake server."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.errors import InvalidRequestError
from vv_llm.settings import settings
from vv_llm.settings.catalogue import catalogue
from vv_llm.testing import Reply, ToolCallSpec
from vv_llm.testing.settings import FAKE_KEY, base_path, fake_settings_dict

OPENAI_COMPATIBLE = [b for b in BackendType if b not in (BackendType.Anthropic, BackendType.Gemini)]
# The smallest valid PNG (1x1).
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def model_of(backend: BackendType) -> str:
    models = list(catalogue()["backends"][backend.value]["models"])
    return models[0] if models else "local-model"


def ids(backend: BackendType) -> str:
    return backend.value


@pytest.fixture(params=OPENAI_COMPATIBLE, ids=ids)
def backend(request, fake_settings):
    return request.param


def last_body(server) -> dict:
    return server.last_request.json


def test_completion(backend, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="Paris is the capital of France."))
    client = create_chat_client(backend, model=model_of(backend))
    reply = client.create_completion(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}], temperature=0.2
    )
    assert reply.content == "Paris is the capital of France."
    assert reply.finish_reason == "stop"
    assert reply.usage is not None and reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.endpoint_id == f"fake-{backend.value}"
    request = fake_llm_server.last_request
    assert request.path == base_path(backend) + "/chat/completions"
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    body = request.json
    assert body["model"] == model_of(backend)
    assert body["temperature"] == 0.2
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "stream" not in body


def test_stream(backend, fake_llm_server):
    text = "Streaming works across many small chunks."
    fake_llm_server.enqueue(Reply(content=text, chunk_chars=3))
    client = create_chat_client(backend, model=model_of(backend))
    stream = client.create_stream([{"role": "user", "content": "go"}])
    pieces = [d.content for d in stream if d.content]
    assert "".join(pieces) == text
    assert len(pieces) == len(range(0, len(text), 3))
    message = stream.message
    assert message.content == text and message.finish_reason == "stop"
    body = last_body(fake_llm_server)
    assert body["stream"] is True
    if body.get("stream_options", {}).get("include_usage"):
        assert message.usage is not None and message.usage.completion_tokens > 0


def test_async_completion_and_stream(backend, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="async one"), Reply(content="async two", chunk_chars=2))

    async def main():
        client = create_async_chat_client(backend, model=model_of(backend))
        reply = await client.create_completion([{"role": "user", "content": "hi"}])
        pieces = [d.content async for d in client.create_stream([{"role": "user", "content": "hi"}]) if d.content]
        return reply, pieces

    reply, pieces = asyncio.run(main())
    assert reply.content == "async one"
    assert "".join(pieces) == "async two"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_tool_call(backend, fake_llm_server, stream):
    fake_llm_server.enqueue(Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Zürich"}, id="call_1")], chunk_chars=4))
    client = create_chat_client(backend, model=model_of(backend))
    messages = [{"role": "user", "content": "Weather in Zürich?"}]
    result = client.create_completion(messages, tools=[WEATHER_TOOL], tool_choice="auto", stream=stream)
    if stream:
        list(result)
        result = result.message
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls is not None and len(result.tool_calls) == 1
    call = result.tool_calls[0]
    assert call.id == "call_1" and call.function.name == "get_weather"
    assert call.parsed_arguments() == {"city": "Zürich"}
    body = last_body(fake_llm_server)
    assert body["tools"] == [WEATHER_TOOL] and body["tool_choice"] == "auto"

    # Second turn: the assistant's tool call and our tool result go back in OpenAI shape.
    fake_llm_server.enqueue(Reply(content="It is sunny in Zürich."))
    follow_up = [*messages, result.to_openai_message(), {"role": "tool", "tool_call_id": "call_1", "content": '{"sky": "clear"}'}]
    final = client.create_completion(follow_up, tools=[WEATHER_TOOL])
    assert final.content == "It is sunny in Zürich."
    sent = last_body(fake_llm_server)["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Zürich"}'}
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": '{"sky": "clear"}'}


def test_image_input_from_file_url_and_data_url(backend, fake_llm_server, tmp_path):
    data = fake_settings_dict(fake_llm_server)
    model = model_of(backend)
    data["backends"][backend.value].setdefault("models", {})[model] = {"native_multimodal": True}
    settings.load(data)
    image = tmp_path / "pixel.png"
    image.write_bytes(PNG)
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    client = create_chat_client(backend, model=model)
    client.create_completion(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these images?"},
                    {"type": "image_url", "image_url": {"url": str(image), "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                    {"type": "image_url", "image_url": {"url": data_url}},
                ],
            }
        ]
    )
    parts = last_body(fake_llm_server)["messages"][0]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": data_url, "detail": "low"}}
    assert parts[2]["image_url"]["url"] == "https://example.com/cat.jpg"
    assert parts[3]["image_url"]["url"] == data_url


def test_images_to_a_text_only_model_are_refused(backend, fake_llm_server):
    data = fake_settings_dict(fake_llm_server)
    data["backends"][backend.value].setdefault("models", {})["text-only"] = {"native_multimodal": False}
    settings.load(data)
    client = create_chat_client(backend, model="text-only")
    with pytest.raises(InvalidRequestError, match="does not accept images"):
        client.create_completion([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}])
    assert fake_llm_server.requests == []


THINK_TAG_BACKENDS = [BackendType.MiniMax, BackendType.Local, BackendType.Groq, BackendType.Qwen, BackendType.DeepSeek]


@pytest.mark.parametrize("style", ["field", "reasoning"])
def test_reasoning(backend, fake_llm_server, style):
    check_reasoning(backend, fake_llm_server, style)


@pytest.mark.parametrize("tagged_backend", THINK_TAG_BACKENDS, ids=ids)
def test_reasoning_inline_think_tags(tagged_backend, fake_settings, fake_llm_server):
    check_reasoning(tagged_backend, fake_llm_server, "think_tags")


def test_think_tags_are_content_for_other_backends(fake_settings, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="<think>literal</think> text"))
    reply = create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion([{"role": "user", "content": "x"}])
    assert reply.content == "<think>literal</think> text" and reply.reasoning_content is None


def check_reasoning(backend, fake_llm_server, style):
    reasoning = "First, 6 times 7. That is 42."
    fake_llm_server.enqueue(
        Reply(content="42", reasoning=reasoning, reasoning_style=style),
        Reply(content="42", reasoning=reasoning, reasoning_style=style, chunk_chars=3),
    )
    client = create_chat_client(backend, model=model_of(backend))
    reply = client.create_completion([{"role": "user", "content": "6*7?"}])
    assert (reply.reasoning_content, reply.content) == (reasoning, "42")
    stream = client.create_stream([{"role": "user", "content": "6*7?"}])
    deltas = list(stream)
    assert "".join(d.reasoning_content or "" for d in deltas) == reasoning
    assert "".join(d.content or "" for d in deltas) == "42"
    assert (stream.message.reasoning_content, stream.message.content) == (reasoning, "42")


def test_model_id_override_and_extra_params(fake_llm_server):
    settings.load(
        {
            "endpoints": [{"id": "ep", "api_base": fake_llm_server.url("/v1"), "api_key": "sk-one"}],
            "backends": {"openai": {"models": {"gpt-4o": {"endpoints": [{"endpoint_id": "ep", "model_id": "gpt-4o-2024-08-06"}]}}}},
        }
    )
    try:
        client = create_chat_client(BackendType.OpenAI, model="gpt-4o", temperature=0.1)
        client.create_completion(
            [{"role": "user", "content": "x"}], max_tokens=50, seed=7, response_format={"type": "json_object"}, stop=["\n"]
        )
        body = last_body(fake_llm_server)
        assert body["model"] == "gpt-4o-2024-08-06"
        assert body["temperature"] == 0.1 and body["seed"] == 7
        assert body["max_completion_tokens"] == 50
        assert body["response_format"] == {"type": "json_object"} and body["stop"] == ["\n"]
    finally:
        settings.reset()


def test_max_tokens_clamped_to_model_output_limit(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.DeepSeek, model="deepseek-chat")
    client.create_completion([{"role": "user", "content": "x"}], max_tokens=1_000_000)
    assert last_body(fake_llm_server)["max_tokens"] == 8192


def test_azure_deployment(fake_llm_server):
    settings.load(
        {
            "endpoints": [
                {
                    "id": "azure-eu",
                    "api_base": fake_llm_server.url(""),
                    "api_key": "azure-key-123",
                    "is_azure": True,
                    "api_version": "2024-10-21",
                }
            ],
            "backends": {"openai": {"models": {"gpt-4o": {"endpoints": [{"endpoint_id": "azure-eu", "model_id": "my-gpt4o-deployment"}]}}}},
        }
    )
    try:
        fake_llm_server.enqueue(Reply(content="from azure"), Reply(content="streamed from azure"))
        client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
        assert client.create_completion([{"role": "user", "content": "x"}]).content == "from azure"
        request = fake_llm_server.last_request
        assert request.path == "/openai/deployments/my-gpt4o-deployment/chat/completions"
        assert request.query == {"api-version": "2024-10-21"}
        assert request.headers["api-key"] == "azure-key-123" and "authorization" not in request.headers
        assert "".join(d.content or "" for d in client.create_stream([{"role": "user", "content": "x"}])) == "streamed from azure"
    finally:
        settings.reset()


def test_usage_chunk_and_cached_tokens(fake_settings, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="cached", cached_tokens=1024, prompt_tokens=2000, completion_tokens=3))
    stream = create_chat_client(BackendType.OpenAI, model="gpt-4o").create_stream([{"role": "user", "content": "x"}])
    deltas = list(stream)
    assert deltas[-1].usage is not None
    usage = stream.message.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, usage.cached_tokens) == (2000, 3, 2003, 1024)


def test_raw_response_is_kept(fake_settings, fake_llm_server):
    reply = create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion([{"role": "user", "content": "x"}])
    assert reply.raw_response is not None and reply.raw_response["object"] == "chat.completion"
    assert reply.id == reply.raw_response["id"] and json.dumps(reply.raw_response)
