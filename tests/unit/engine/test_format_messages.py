"""``format_messages``: validation, normalisation and conversion to each backend's request shape."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from vv_llm.chat_clients import BackendType, create_chat_client, format_messages
from vv_llm.errors import InvalidRequestError
from vv_llm.testing import Reply, ToolCallSpec

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
PNG_B64 = base64.b64encode(PNG).decode()
TOOL = {"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    return str(path)


@pytest.fixture
def conversation(image_file):
    return [
        {"role": "system", "content": "You add numbers."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is in this image, and 1+2?"}, {"type": "image_url", "image_url": image_file}],
        },
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": "I should call add.",
            "tool_calls": [{"id": "call_1", "function": {"name": "add", "arguments": {"a": 1, "b": 2}}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "3"},
        {"role": "user", "content": "Thanks"},
    ]


def test_openai_shape_is_normalised_and_input_untouched(conversation):
    before = copy.deepcopy(conversation)
    out = format_messages(conversation)
    assert conversation == before
    assert out[1]["content"][1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}
    assert out[2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}],
    }
    assert out[0] == conversation[0] and out[3] == conversation[3] and out[4] == conversation[4]
    assert format_messages(conversation, "deepseek") == out and format_messages(conversation, BackendType.OpenAI) == out


def test_remote_images_and_data_urls_are_kept():
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
            ],
        }
    ]
    assert format_messages(messages) == messages


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([], "non-empty list"),
        ([{"role": "robot", "content": "x"}], "role must be one of"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "/no/such/image.png"}}]}], "cannot read image file"),
        (
            [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "call_9", "content": "1"}],
            "no earlier assistant message made",
        ),
        (
            [{"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "add", "arguments": "{}"}}]}],
            r"tool_calls\[0\]\.id is required",
        ),
        (
            [{"role": "assistant", "content": None, "tool_calls": [{"id": "c", "function": {"name": "add", "arguments": "{oops"}}]}],
            "is not valid JSON",
        ),
    ],
)
def test_invalid_messages_are_clear_errors(messages, error):
    with pytest.raises(InvalidRequestError, match=error):
        format_messages(messages)


def test_anthropic_shape(conversation):
    out = format_messages(conversation, BackendType.Anthropic)
    assert out["system"] == "You add numbers."
    assert out["messages"][0] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this image, and 1+2?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
        ],
    }
    assert out["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "call_1", "name": "add", "input": {"a": 1, "b": 2}}],
    }
    assert out["messages"][2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "3"}, {"type": "text", "text": "Thanks"}],
    }
    assert "system" not in format_messages(conversation[1:], "anthropic")


def test_gemini_shape(conversation):
    out = format_messages(conversation, BackendType.Gemini)
    assert out == {
        "systemInstruction": {"parts": [{"text": "You add numbers."}]},
        "contents": [
            {
                "role": "user",
                "parts": [{"text": "What is in this image, and 1+2?"}, {"inlineData": {"mimeType": "image/png", "data": PNG_B64}}],
            },
            {"role": "model", "parts": [{"functionCall": {"name": "add", "args": {"a": 1, "b": 2}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "add", "response": {"output": 3}}}, {"text": "Thanks"}]},
        ],
    }
    assert "systemInstruction" not in format_messages(conversation[1:], "gemini")


def test_gemini_keeps_thought_signatures_and_ignores_other_providers_blocks():
    signed = [{"text": "thinking", "thought": True}, {"functionCall": {"name": "add", "args": {"a": 1}}, "thoughtSignature": "c2ln"}]
    call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
    messages = [
        {"role": "user", "content": "add"},
        {"role": "assistant", "content": None, "tool_calls": [call], "provider_content": signed},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"sum": 1}'},
    ]
    assert format_messages(messages, "gemini")["contents"][1] == {"role": "model", "parts": signed}
    messages[1]["provider_content"] = [{"type": "thinking", "thinking": "t", "signature": "s"}]  # an Anthropic reply
    assert format_messages(messages, "gemini")["contents"][1] == {
        "role": "model",
        "parts": [{"functionCall": {"name": "add", "args": {"a": 1}}}],
    }
    assert format_messages(messages, "gemini")["contents"][2]["parts"] == [{"functionResponse": {"name": "add", "response": {"sum": 1}}}]


@pytest.mark.parametrize("backend", [BackendType.Gemini, BackendType.Anthropic, BackendType.OpenAI], ids=str)
def test_matches_what_the_client_sends(backend, conversation, fake_settings, fake_llm_server):
    fake_llm_server.enqueue(Reply(content="ok"))
    model = {"gemini": "gemini-2.5-flash", "anthropic": "claude-sonnet-4-5", "openai": "gpt-4o"}[backend.value]
    messages = [m for m in conversation if "reasoning_content" not in m]
    messages.insert(
        2,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}],
        },
    )
    create_chat_client(backend, model=model).create_completion(messages, tools=[TOOL])
    sent = fake_llm_server.last_request.json
    formatted = format_messages(messages, backend)
    if backend is BackendType.Gemini:
        assert sent["contents"] == formatted["contents"] and sent["systemInstruction"] == formatted["systemInstruction"]
    elif backend is BackendType.Anthropic:
        assert sent["messages"] == formatted["messages"] and sent["system"] == formatted["system"]
    else:
        assert sent["messages"] == formatted


def test_reply_round_trips_through_format_messages(fake_settings, fake_llm_server):
    fake_llm_server.enqueue(Reply(reasoning="hmm", tool_calls=[ToolCallSpec("add", {"a": 5})]))
    client = create_chat_client(BackendType.Gemini, model="gemini-2.5-flash")
    reply = client.create_completion([{"role": "user", "content": "5?"}], tools=[TOOL], thinking=True)
    history = [
        {"role": "user", "content": "5?"},
        reply.to_openai_message(),
        {"role": "tool", "tool_call_id": reply.tool_calls[0].id, "content": "5"},
    ]
    gemini = format_messages(history, "gemini")
    assert gemini["contents"][1]["parts"] == reply.provider_content
    openai = format_messages(history)
    assert "provider_content" not in openai[1] and "reasoning_content" not in openai[1]
    assert json.loads(openai[1]["tool_calls"][0]["function"]["arguments"]) == {"a": 5}
