"""Request-level token counts: overheads, tools, images (OpenAI and Anthropic shapes), and the fake
server reporting the same numbers end to end.

Expected numbers are worked out by hand from o200k_base tokens (noted beside each) and the rules in
``vv_llm.utilities.tokens.messages`` / ``images``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from vv_llm.chat_clients.message_formats import format_messages
from vv_llm.errors import InvalidRequestError
from vv_llm.utilities.tokens import count_message_tokens, get_message_token_counts, get_token_counts
from vv_llm.utilities.tokens.images import (
    anthropic_image_tokens,
    gemini_image_tokens,
    image_dimensions,
    openai_image_tokens,
)

from .test_helpers import jpeg_bytes, png_base64, png_bytes, png_data_url, webp_vp8x_bytes

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}, "required": ["city"]},
    },
}
TOOL_TURN = [
    {"role": "user", "content": "What's the weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21°C."},
]


# -- OpenAI: text, names, tools ------------------------------------------------------------------------
def test_openai_text_conversation() -> None:
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},  # 3 + system 1 + 6 = 10
        {"role": "user", "content": "Hello!", "name": "Alice"},  # 3 + user 1 + 2 + Alice 1 + 1 = 8
    ]
    count = count_message_tokens(messages, model="gpt-4o")
    assert count.messages == (10, 8) and count.reply == 3 and count.tools == 0
    assert count.total == 21 == get_message_token_counts(messages, model="gpt-4o")


def test_openai_tool_calls_results_and_definitions() -> None:
    count = count_message_tokens(TOOL_TURN, [WEATHER_TOOL], "gpt-4o")
    # user: 3 + 1 + "What's the weather in Paris?" 6 = 10
    # assistant: 3 + 1 + call (3 + "get_weather" 2 + '{"city":"Paris"}' 5) = 14
    # tool: 3 + 1 + "Sunny, 21°C." 6 = 10
    assert count.messages == (10, 14, 10)
    # 12 + function 7 + "get_weather:Get the weather for a city" 8 + properties 3 + property 3 + "city:string:City name" 5
    assert count.tools == 38
    assert count.total == 10 + 14 + 10 + 38 + 3


def test_openai_published_tool_example() -> None:
    """OpenAI's cookbook example: the API reports 101 prompt tokens on gpt-4o, 105 on gpt-4 / gpt-3.5-turbo."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "description": "Get the current weather in a given location",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                        "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]},
                    },
                    "required": ["location"],
                },
            },
        }
    ]
    messages = [
        {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
        {"role": "user", "content": "What's the weather like in San Francisco?"},
    ]
    assert get_message_token_counts(messages, tools, "gpt-4o") == 101
    assert get_message_token_counts(messages, tools, "gpt-4o-mini") == 101
    assert get_message_token_counts(messages, tools, "gpt-4") == 105
    assert get_message_token_counts(messages, tools, "gpt-3.5-turbo") == 105


def test_tools_without_descriptions_and_nested_schemas_count() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "book",
            "parameters": {
                "type": "object",
                "properties": {
                    "when": {"type": ["string", "null"]},
                    "guests": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                    "size": {"type": "integer", "enum": [1, 2, 3]},
                },
            },
        },
    }
    # 12 + function 7 + "book:" 2 + properties 3
    # + when: 3 + "when:string|null:" 4
    # + guests: 3 + "guests:array:" 5 + its items' properties (3 + 3 + "name:string:" 3)
    # + size: 3 + enum (-3 + 3 × (3 + "1" 1)) + "size:integer:" 4
    tools = 12 + 7 + 2 + 3 + (3 + 4) + (3 + 5 + 9) + (3 + 9 + 4)
    assert tools == 64
    # the message: 3 + user 1 + "hi" 1, reply 3
    assert get_message_token_counts([{"role": "user", "content": "hi"}], [tool], "gpt-4o") == 8 + tools


# -- images ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "detail", "model", "expected"),
    [
        ((1024, 1024), "high", "gpt-4o", 765),  # → 768×768: 4 tiles × 170 + 85
        ((1024, 1024), "low", "gpt-4o", 85),
        ((2048, 4096), "high", "gpt-4o", 1105),  # → 1024×2048 → 768×1536: 6 tiles
        ((4000, 1000), "auto", "gpt-4o", 765),  # → 2048×512 (short side already < 768): 4 tiles
        ((512, 512), None, "gpt-4o", 255),  # 1 tile, never scaled up
        ((100, 100), "high", "gpt-4.1", 255),
        ((1024, 1024), "high", "gpt-4o-mini", 25501),  # 2833 + 4 × 5667
        ((1024, 1024), "high", "gpt-5", 630),  # 70 + 4 × 140
        ((1024, 1024), "high", "o3", 675),  # 75 + 4 × 150
        ((1024, 1024), "high", "gpt-4.1-mini", 1659),  # 32 × 32 patches × 1.62
        ((1800, 2400), "high", "gpt-4.1-mini", 2353),  # shrunk to 33 × 44 = 1452 patches × 1.62
        ((1800, 2400), "high", "gpt-4.1-nano", 3572),  # 1452 × 2.46
        (None, "high", "gpt-4o", 1445),  # size unknown: the most a fitted image can cost (8 tiles)
        (None, "low", "gpt-4o", 85),
    ],
)
def test_openai_image_rule(size: tuple[int, int] | None, detail: str | None, model: str, expected: int) -> None:
    assert openai_image_tokens(size, detail, model) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1000, 1000), 1334),  # 1,000,000 / 750 = 1333.3 → 1334
        ((200, 200), 54),
        ((1092, 1092), 1590),  # Anthropic's largest unresized square
        ((3000, 1500), 1599),  # long edge → 1568×784, then area → 1549×774
        ((8000, 8000), 1600 - 1),  # → 1568² → 1095×1095 = 1,199,025 px
        (None, 1600),
    ],
)
def test_anthropic_image_rule(size: tuple[int, int] | None, expected: int) -> None:
    assert anthropic_image_tokens(size) == expected


def test_gemini_image_rule() -> None:
    assert gemini_image_tokens((300, 300)) == 258
    assert gemini_image_tokens((384, 384)) == 258
    assert gemini_image_tokens((1000, 800)) == 4 * 258


def test_image_sizes_are_read_from_png_jpeg_webp_and_files(tmp_path: Path) -> None:
    assert image_dimensions(png_data_url(640, 480)) == (640, 480)
    jpeg = jpeg_bytes(1200, 900, app_segments=2)  # SOF past the first 48 kB decoded
    assert image_dimensions("data:image/jpeg;base64," + base64.b64encode(jpeg).decode()) == (1200, 900)
    assert image_dimensions("data:image/webp;base64," + base64.b64encode(webp_vp8x_bytes(300, 200)).decode()) == (300, 200)
    path = tmp_path / "picture.png"
    path.write_bytes(png_bytes(800, 600))
    assert image_dimensions(str(path)) == (800, 600)
    assert image_dimensions("file://" + str(path)) == (800, 600)
    assert image_dimensions("https://example.com/cat.png") is None
    assert image_dimensions("data:image/png;base64,@@not-base64@@") is None
    assert image_dimensions(str(tmp_path / "missing.png")) is None


def test_openai_message_with_images() -> None:
    def ask(detail: str | None) -> list[dict[str, Any]]:
        image: dict[str, Any] = {"url": png_data_url(1024, 1024)}
        if detail:
            image["detail"] = detail
        return [
            {"role": "user", "content": [{"type": "text", "text": "What is in this image?"}, {"type": "image_url", "image_url": image}]}
        ]

    # 3 + user 1 + "What is in this image?" 6 + image + reply 3
    assert get_message_token_counts(ask("high"), model="gpt-4o") == 13 + 765
    assert get_message_token_counts(ask(None), model="gpt-4o") == 13 + 765  # auto counts as high
    assert get_message_token_counts(ask("low"), model="gpt-4o") == 13 + 85
    count = count_message_tokens(ask("high") * 2, model="gpt-4o")
    assert count.images == 2 * 765


# -- Anthropic: both shapes ----------------------------------------------------------------------------
def _claude_conversation() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are terse."},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": png_data_url(1000, 1000)}}, {"type": "text", "text": "Describe."}],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21°C."},
    ]


def test_anthropic_count_by_hand() -> None:
    count = count_message_tokens(_claude_conversation(), [WEATHER_TOOL], "claude-sonnet-4-5")
    # Text is estimated as ceil(o200k × 1.2); 3 a message, no reply priming.
    # system: 3 + "You are terse." ceil(4 × 1.2) = 5 → 8
    # user: 3 + image 1334 + "Describe." ceil(2 × 1.2) = 3 → 1340
    # assistant: 3 + call (3 + "get_weather" ceil(2 × 1.2) = 3 + '{"city":"Paris"}' ceil(5 × 1.2) = 6) → 15
    # tool result: 3 + "Sunny, 21°C." ceil(6 × 1.2) = 8 → 11
    assert count.messages == (8, 1340, 15, 11)
    # tool-use system prompt 346 + the tool's JSON as Anthropic receives it (41 o200k tokens) ceil(41 × 1.2) = 50
    assert count.tools == 396
    assert count.reply == 0 and count.images == 1334
    assert count.total == 8 + 1340 + 15 + 11 + 396


def test_anthropic_shape_counts_the_same_as_openai_shape() -> None:
    openai_shaped = _claude_conversation()
    anthropic_shaped = format_messages(openai_shaped, "anthropic")
    assert anthropic_shaped["messages"][0]["content"][0]["type"] == "image"
    anthropic_tool = {
        "name": "get_weather",
        "description": "Get the weather for a city.",
        "input_schema": WEATHER_TOOL["function"]["parameters"],
    }
    assert get_message_token_counts(anthropic_shaped, [anthropic_tool], "claude-sonnet-4-5") == get_message_token_counts(
        openai_shaped, [WEATHER_TOOL], "claude-sonnet-4-5"
    )
    block = {
        "role": "user",
        "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png_base64(200, 200)}}],
    }
    assert get_message_token_counts([block], model="claude-haiku-4-5") == 3 + 54


def test_gemini_counts() -> None:
    messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Describe."}, {"type": "image_url", "image_url": {"url": png_data_url(300, 300)}}],
        }
    ]
    # no per-message overhead; "Describe." ceil(2 × 1.1) = 3; small image 258
    assert get_message_token_counts(messages, model="gemini-2.5-flash") == 3 + 258


def test_other_backends_use_their_tokenizer_with_openai_overheads() -> None:
    text = "检索增强生成把检索器和生成模型结合起来。"
    messages = [{"role": "user", "content": text}]
    for model in ("deepseek-chat", "qwen-plus"):
        assert get_message_token_counts(messages, model=model) == 3 + get_token_counts("user", model) + get_token_counts(text, model) + 3


def test_bad_messages_are_typed_errors_with_their_path() -> None:
    with pytest.raises(InvalidRequestError, match="messages must be a list"):
        get_message_token_counts("hello", model="gpt-4o")
    with pytest.raises(InvalidRequestError, match=r"messages\[1\] must be a dict"):
        get_message_token_counts([{"role": "user", "content": "a"}, "b"], model="gpt-4o")
    with pytest.raises(InvalidRequestError, match=r"messages\[0\]\.content\[1\] must be a dict"):
        get_message_token_counts([{"role": "user", "content": [{"type": "text", "text": "a"}, 3]}], model="gpt-4o")
    with pytest.raises(InvalidRequestError, match=r"tools\[0\] must be a dict"):
        get_message_token_counts([{"role": "user", "content": "a"}], ["x"], "gpt-4o")


# -- end to end: the fake server bills what we count -----------------------------------------------------
@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4-turbo"])
def test_fake_openai_server_reports_the_same_prompt_tokens(fake_settings: Any, model: str) -> None:
    from vv_llm.chat_clients import BackendType, create_chat_client

    client = create_chat_client(BackendType.OpenAI, model=model)
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": png_data_url(1024, 1024)}},
            ],
        },
        *TOOL_TURN,
    ]
    reply = client.create_completion(messages, tools=[WEATHER_TOOL])
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == get_message_token_counts(messages, [WEATHER_TOOL], model)
    assert reply.usage.completion_tokens == get_token_counts(reply.content or "", model)
    stream = client.create_stream(messages, tools=[WEATHER_TOOL])
    list(stream)
    assert stream.message.usage is not None and stream.message.usage.prompt_tokens == reply.usage.prompt_tokens


def test_fake_server_uses_deepseeks_tokenizer(fake_settings: Any) -> None:
    from vv_llm.chat_clients import BackendType, create_chat_client

    messages = [{"role": "user", "content": "用一句话解释 RAG"}]
    reply = create_chat_client(BackendType.DeepSeek, model="deepseek-chat").create_completion(messages)
    assert reply.usage is not None and reply.usage.prompt_tokens == get_message_token_counts(messages, model="deepseek-chat")
