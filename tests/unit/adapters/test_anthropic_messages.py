"""Anthropic conversion functions (used by the adapters and by format_messages) and stream decoding
of event sequences the fake does not produce (redacted thinking, reads split anywhere)."""

from __future__ import annotations

import json

import pytest

from vv_llm.chat_clients.adapters.anthropic_messages import (
    apply_prompt_cache,
    fit_max_tokens,
    message_from_anthropic,
    thinking_config,
    to_anthropic_messages,
    to_anthropic_tool_choice,
    to_anthropic_tools,
    usage_from_anthropic,
)
from vv_llm.errors import InvalidRequestError, ServerError


def test_conversation_with_tools_and_thinking_round_trips():
    thinking = {"type": "thinking", "thinking": "plan", "signature": "sig"}
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgB"}
    system, messages = to_anthropic_messages(
        [
            {"role": "developer", "content": [{"type": "text", "text": "Rules."}]},
            {"role": "user", "content": "Go"},
            {
                "role": "assistant",
                "content": "",
                "reasoning_content": "plan",
                "provider_content": [thinking, redacted, {"some": "other provider's block"}],
                "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
            },
            {"role": "tool", "tool_call_id": "t1", "content": [{"type": "text", "text": "result"}]},
        ]
    )
    assert system == "Rules."
    assert messages == [
        {"role": "user", "content": "Go"},
        {"role": "assistant", "content": [thinking, redacted, {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "result"}]}]},
    ]


def test_inputs_are_not_changed():
    original = [{"role": "user", "content": [{"type": "text", "text": "x"}]}]
    snapshot = json.dumps(original)
    system, messages = to_anthropic_messages(original)
    apply_prompt_cache(system, None, messages)
    assert json.dumps(original) == snapshot


def test_bad_tool_arguments_name_the_message():
    with pytest.raises(InvalidRequestError, match=r"messages\[1\]\.tool_calls\[0\]\.function\.arguments"):
        to_anthropic_messages(
            [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{oops"}}]},
            ]
        )


def test_system_images_and_audio_are_refused():
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    with pytest.raises(InvalidRequestError, match="system"):
        to_anthropic_messages([{"role": "system", "content": [image]}, {"role": "user", "content": "x"}])
    with pytest.raises(InvalidRequestError, match="audio"):
        to_anthropic_messages([{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}])


def test_pdf_file_part_becomes_a_document():
    _, messages = to_anthropic_messages(
        [
            {
                "role": "user",
                "content": [{"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}}],
            }
        ]
    )
    assert messages[0]["content"] == [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}, "title": "a.pdf"}
    ]


def test_tools_and_choices():
    native = {"name": "n", "input_schema": {"type": "object"}}
    server_tool = {"type": "web_search_20250305", "name": "web_search"}
    assert to_anthropic_tools([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}, native, server_tool]) == [
        {"name": "f", "input_schema": {"type": "object"}},
        native,
        server_tool,
    ]
    assert to_anthropic_tool_choice("none", parallel_tool_calls=False) == {"type": "none"}
    assert to_anthropic_tool_choice(None, parallel_tool_calls=False) == {"type": "auto", "disable_parallel_tool_use": True}
    with pytest.raises(InvalidRequestError):
        to_anthropic_tool_choice("sometimes")


def test_cache_breakpoints_never_exceed_four():
    mine = {"type": "text", "text": "pinned", "cache_control": {"type": "ephemeral"}}
    turns = [{"role": "user", "content": [mine]}, {"role": "assistant", "content": "a"}]
    turns += [{"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}, {"role": "user", "content": "d"}]
    system, tools, messages = apply_prompt_cache("sys", [{"name": "t", "input_schema": {}}], turns)
    marks = json.dumps([system, tools, messages]).count("cache_control")
    assert marks == 4
    assert "cache_control" in tools[0] and system[0]["cache_control"] == {"type": "ephemeral"}
    assert messages[4]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert messages[2]["content"] == "b"  # the caller's own breakpoint used the last slot


def test_thinking_options():
    assert thinking_config(True) == {"type": "enabled", "budget_tokens": 2048}
    assert thinking_config({"budget_tokens": 100}) == {"type": "enabled", "budget_tokens": 1024}
    assert thinking_config({"enabled": False}) is None
    assert thinking_config(None, "high") == {"type": "enabled", "budget_tokens": 16384}
    assert thinking_config({"type": "adaptive"}) == {"type": "adaptive"}
    assert fit_max_tokens(None, 64000, None) == (8192, None)
    assert fit_max_tokens(None, None, None) == (4096, None)
    total, config = fit_max_tokens(None, 8192, {"type": "enabled", "budget_tokens": 10000})
    assert total == 8192 and 1024 <= config["budget_tokens"] < total


def test_usage_folds_cache_counters_into_prompt_tokens():
    usage = usage_from_anthropic(
        {
            "input_tokens": 5,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 900,
            "output_tokens": 40,
            "output_tokens_details": {"thinking_tokens": 30},
        }
    )
    assert usage.model_dump() == {
        "prompt_tokens": 1005,
        "completion_tokens": 40,
        "total_tokens": 1045,
        "cached_tokens": 900,
        "cache_creation_tokens": 100,
        "reasoning_tokens": 30,
    }


def test_redacted_thinking_is_kept_from_json_and_stream(fake_settings):
    from vv_llm.chat_clients.adapters import adapter_for
    from vv_llm.types.enums import BackendType

    blocks = [{"type": "redacted_thinking", "data": "EmwKAhgBEgy3va"}, {"type": "thinking", "thinking": "t", "signature": "s"}]
    message = message_from_anthropic({"content": [*blocks, {"type": "text", "text": "hi"}], "stop_reason": "end_turn"})
    assert message.provider_content == blocks and message.content == "hi" and message.finish_reason == "stop"

    events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {"id": "msg_1", "model": "m", "content": [], "usage": {"input_tokens": 9, "output_tokens": 1}},
            },
        ),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": blocks[0]}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 1, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        ),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "thinking_delta", "thinking": "t"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "signature_delta", "signature": "s"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "hi"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 2}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 12}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    raw = b"".join(f"event: {name}\r\ndata: {json.dumps(data)}\r\n\r\n".encode() for name, data in events)
    resolved = fake_settings.resolve(BackendType.Anthropic, "claude-sonnet-4-5")
    decoder = adapter_for(BackendType.Anthropic, resolved.endpoints[0]).stream_decoder()
    deltas = []
    for i in range(0, len(raw), 7):  # reads split at arbitrary byte boundaries
        deltas += decoder.feed(raw[i : i + 7])
    deltas += decoder.close()
    assert decoder.done
    final = deltas[-1]
    assert final.finish_reason == "stop" and final.provider_content == blocks
    assert final.usage.prompt_tokens == 9 and final.usage.completion_tokens == 12
    assert "".join(d.reasoning_content or "" for d in deltas) == "t" and "".join(d.content or "" for d in deltas) == "hi"

    decoder = adapter_for(BackendType.Anthropic, resolved.endpoints[0]).stream_decoder()
    with pytest.raises(ServerError, match="Overloaded"):
        decoder.feed(b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n')


def test_adaptive_thinking_models_are_asked_for_adaptive_thinking_with_an_effort():
    """Claude 4.6+ take ``{"type": "adaptive"}`` plus ``output_config.effort``; Opus 4.7 and the 5.x
    models refuse a budget. Without max_tokens, room for the thinking is left on top of the answer."""
    from vv_llm.chat_clients.adapters.anthropic_messages import claude_thinking
    from vv_llm.chat_clients.adapters.base import CallParams
    from vv_llm.chat_clients.adapters.bedrock_converse import converse_body

    def call(**options):
        return CallParams(messages=[{"role": "user", "content": "hi"}], model_id="claude-sonnet-5-5", max_output_tokens=128000, **options)

    adaptive = {"adaptive_thinking": True}
    assert claude_thinking(call(thinking=True, **adaptive)) == (8192 + 16384, {"type": "adaptive"}, None)
    assert claude_thinking(call(reasoning_effort="minimal", **adaptive)) == (24576, {"type": "adaptive"}, {"effort": "low"})
    assert claude_thinking(call(thinking={"effort": "max", "budget_tokens": 4096}, max_tokens=3000, **adaptive)) == (
        3000,
        {"type": "adaptive"},
        {"effort": "max"},
    )
    native = {"type": "enabled", "budget_tokens": 2048}
    assert claude_thinking(call(thinking=native, max_tokens=1000, **adaptive))[1] == native  # Anthropic's own option, as given
    assert claude_thinking(call(**adaptive)) == (8192, None, None)
    assert claude_thinking(call(thinking=True)) == (8192, {"type": "enabled", "budget_tokens": 2048}, None)  # older models: a budget
    bedrock = converse_body(call(thinking=True, reasoning_effort="high", **adaptive))
    assert bedrock["additionalModelRequestFields"] == {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}
    assert bedrock["inferenceConfig"]["maxTokens"] == 24576


def test_the_catalogue_knows_which_claude_models_think_adaptively(fake_settings, fake_llm_server):
    from vv_llm.chat_clients import BackendType, create_chat_client
    from vv_llm.testing import Reply

    fake_llm_server.enqueue(Reply(content="Done.", reasoning="Short plan."))
    reply = create_chat_client(BackendType.Anthropic, model="claude-sonnet-5-5").create_completion(
        [{"role": "user", "content": "Plan a trip."}], reasoning_effort="medium"
    )
    body = fake_llm_server.requests[-1].json
    assert (body["thinking"], body["output_config"], body["max_tokens"]) == ({"type": "adaptive"}, {"effort": "medium"}, 24576)
    assert reply.reasoning_content == "Short plan." and reply.content == "Done."
    fake_llm_server.enqueue(Reply(content="ok"))
    create_chat_client(BackendType.Anthropic, model="claude-sonnet-4-5").create_completion(
        [{"role": "user", "content": "x"}], thinking=True
    )
    assert fake_llm_server.requests[-1].json["thinking"] == {"type": "enabled", "budget_tokens": 2048}
