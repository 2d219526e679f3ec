"""``request_report`` on every reply and error: the endpoint that answered after failover, the model
id sent, each option sent / mapped / dropped, and ``unsupported=`` deciding what a dropped option does."""

from __future__ import annotations

import asyncio
import warnings

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.errors import BadRequestError, InvalidRequestError, PartialStreamError, UnsupportedOptionError, UnsupportedOptionWarning
from vv_llm.settings import settings
from vv_llm.testing import Reply
from vv_llm.testing.settings import FAKE_KEY

USER = [{"role": "user", "content": "hello"}]
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}}


def fates(reply) -> dict[str, tuple]:
    return {name: (fate.status, fate.to or fate.reason) for name, fate in reply.request_report.options.items()}


def test_every_option_is_reported_sent_or_mapped(fake_settings, fake_llm_server):
    reply = create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER, temperature=0.3, max_tokens=99999, seed=7)
    report = reply.request_report
    assert (report.backend, report.model, report.model_id, report.endpoint_id, report.provider) == (
        "openai",
        "gpt-4o",
        "gpt-4o",
        "fake-openai",
        "openai",
    )
    assert fates(reply) == {
        "temperature": ("sent", None),
        "max_tokens": ("mapped", "max_completion_tokens=16384 (the model's max output)"),
        "seed": ("sent", None),
    }
    assert report.failed_over == [] and report.structured_output is None


def test_gemini_maps_options_into_generation_config(fake_settings, fake_llm_server):
    reply = create_chat_client(BackendType.Gemini, model="gemini-2.5-flash").create_completion(USER, temperature=0.2, top_k=4, stop="END")
    assert fates(reply) == {
        "temperature": ("mapped", "generationConfig.temperature"),
        "stop": ("mapped", "generationConfig.stopSequences"),
        "top_k": ("mapped", "generationConfig.topK"),
    }


def test_a_dropped_option_warns_by_default_and_is_not_sent(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.Gemini, model="gemini-2.5-flash")
    with pytest.warns(UnsupportedOptionWarning, match="parallel_tool_calls: Gemini has no parallel_tool_calls parameter"):
        reply = client.create_completion(USER, tools=[TOOL], parallel_tool_calls=False)
    assert fates(reply)["parallel_tool_calls"] == ("dropped", "Gemini has no parallel_tool_calls parameter")
    assert "parallel_tool_calls" not in fake_llm_server.last_request.json


def test_unsupported_error_refuses_before_sending(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.Mistral, model="mistral-large-latest")
    with pytest.raises(UnsupportedOptionError, match="thinking") as caught:
        client.create_completion(USER, thinking=True, temperature=0.1, unsupported="error")
    assert fake_llm_server.requests == []
    assert list(caught.value.options) == ["thinking"] and "no reasoning switch" in caught.value.options["thinking"]
    assert caught.value.request_report.options["temperature"].status == "sent"


def test_unsupported_drop_is_quiet_but_still_reported(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.Anthropic, model="claude-sonnet-4-5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reply = client.create_completion(USER, thinking=True, temperature=0.5, unsupported="drop")
    assert fates(reply)["temperature"] == ("dropped", "Claude takes only the default temperature while thinking")
    assert "temperature" not in fake_llm_server.last_request.json


def test_unsupported_set_on_the_client_applies_to_every_call(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.Mistral, model="mistral-large-latest", unsupported="error")
    with pytest.raises(UnsupportedOptionError):
        client.create_completion(USER, thinking=True)
    client.create_completion(USER, thinking=True, unsupported="drop")  # the call's own choice wins
    assert len(fake_llm_server.requests) == 1


def test_a_bad_unsupported_value_is_refused(fake_settings):
    with pytest.raises(InvalidRequestError, match="warn, error, drop"):
        create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER, unsupported="ignore")


def test_stream_carries_the_report(fake_settings, fake_llm_server):
    stream = create_chat_client(BackendType.Anthropic, model="claude-sonnet-4-5").create_stream(USER, stop="END", reasoning_effort="low")
    for _ in stream:
        pass
    assert stream.request_report is stream.message.request_report
    assert fates(stream.message) == {"stop": ("mapped", "stop_sequences"), "reasoning_effort": ("mapped", "thinking.budget_tokens")}


def test_async_reply_carries_the_report(fake_settings, fake_llm_server):
    client = create_async_chat_client(BackendType.OpenAI, model="gpt-4o")
    reply = asyncio.run(client.create_completion(USER, top_p=0.5))
    assert fates(reply) == {"top_p": ("sent", None)}


def test_the_report_names_the_endpoint_that_answered_after_failover(fake_llm_server):
    endpoints = [
        {"id": "first", "api_base": fake_llm_server.url("/v1"), "api_key": FAKE_KEY, "priority": 0},
        {"id": "second", "api_base": fake_llm_server.url("/v1"), "api_key": FAKE_KEY, "priority": 1},
    ]
    settings.load(
        {"VERSION": "2", "endpoints": endpoints, "backends": {"openai": {"models": {"gpt-4o": {"endpoints": ["first", "second"]}}}}}
    )
    try:
        fake_llm_server.enqueue(Reply.error(500, "boom"), Reply(content="ok"))
        reply = create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER)
        assert reply.request_report.endpoint_id == "second" and reply.request_report.failed_over == ["first"]
    finally:
        settings.reset()


def test_errors_carry_the_report(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    fake_llm_server.enqueue(Reply.error(400, "bad"), Reply(content="a long answer that breaks", reset_after_chunks=2, chunk_chars=4))
    with pytest.raises(BadRequestError) as caught:
        client.create_completion(USER, temperature=0.1)
    assert caught.value.request_report.options["temperature"].status == "sent"
    with pytest.raises(PartialStreamError) as partial:
        for _ in client.create_stream(USER, temperature=0.1):
            pass
    assert partial.value.request_report.endpoint_id == "fake-openai"


def test_summary_is_readable(fake_settings, fake_llm_server):
    reply = create_chat_client(BackendType.Gemini, model="gemini-2.5-flash").create_completion(USER, temperature=0.2)
    assert reply.request_report.summary() == (
        "endpoint fake-gemini (gemini), model id gemini-2.5-flash\ntemperature: mapped to generationConfig.temperature"
    )
    assert reply.request_report.to_dict()["options"] == {"temperature": {"status": "mapped", "to": "generationConfig.temperature"}}
