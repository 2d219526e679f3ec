"""The offline demo models: real clients over the fake server's real wire protocols."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from vv_llm.chat_clients import create_async_chat_client, create_chat_client
from vv_llm.errors import PartialStreamError
from vv_llm.settings import Settings
from vv_llm.testing.demo import DEMO_MODELS, DemoBackend, anthropic_demo_available, available_demo_models


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[DemoBackend, Settings]]:
    with DemoBackend(pace=0.05) as backend:
        settings = Settings()
        settings.load(backend.settings_dict())
        yield backend, settings


def _stream(settings: Settings, backend: str, model: str, messages: list[dict[str, Any]], **options: Any) -> Any:
    stream = create_chat_client(backend, model, settings=settings).create_stream(messages, **options)
    for _ in stream:
        pass
    return stream.message


def test_every_demo_model_is_clearly_a_demo_with_valid_settings(demo: Any) -> None:
    backend, settings = demo
    names = [m.name for m in backend.models]
    assert names[:3] == ["demo-fast", "demo-thinker", "demo-tools"]
    assert all(n.startswith("demo-") for n in names)
    assert all(backend.describe(n) for n in names)
    for m in backend.models:
        assert settings.resolve(m.backend, m.name).setting.prices is not None
    expected = {m.name for m in DEMO_MODELS if m.backend != "anthropic" or anthropic_demo_available()}
    assert {m.name for m in available_demo_models()} == expected


def test_fast_model_answers_as_a_demo(demo: Any) -> None:
    _, settings = demo
    reply = _stream(settings, "local", "demo-fast", [{"role": "user", "content": "What is RAG?"}])
    assert "offline demo model" in reply.content and "What is RAG?" in reply.content
    assert reply.finish_reason == "stop" and reply.usage.completion_tokens > 0
    plain = create_chat_client("local", "demo-fast", settings=settings).create_completion([{"role": "user", "content": "hi"}])
    assert "demo-fast" in (plain.content or "")


def test_thinker_reasons_and_tools_model_calls_a_tool_then_uses_the_result(demo: Any) -> None:
    _, settings = demo
    thinker = _stream(settings, "local", "demo-thinker", [{"role": "user", "content": "Why?"}])
    assert thinker.reasoning_content and "Why?" in thinker.reasoning_content and thinker.usage.reasoning_tokens > 0
    first = _stream(settings, "local", "demo-tools", [{"role": "user", "content": "Search it"}])
    assert first.finish_reason == "tool_calls" and first.tool_calls[0].function.name == "web_search"
    assert first.tool_calls[0].parsed_arguments() == {"query": "Search it"}
    conversation = [
        {"role": "user", "content": "Search it"},
        first.to_openai_message(),
        {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "42"},
    ]
    second = _stream(settings, "local", "demo-tools", conversation)
    assert not second.tool_calls and "tool result" in second.content


def test_follow_up_turns_report_cached_tokens(demo: Any) -> None:
    _, settings = demo
    long_turn = "Tell me about retrieval-augmented generation and vector databases in detail. " * 6
    messages = [{"role": "user", "content": long_turn}, {"role": "assistant", "content": long_turn}, {"role": "user", "content": "More?"}]
    reply = _stream(settings, "local", "demo-fast", messages)
    assert 0 < reply.usage.cached_tokens <= reply.usage.prompt_tokens


def test_flaky_model_breaks_mid_stream_keeping_the_partial_text(demo: Any) -> None:
    _, settings = demo
    with pytest.raises(PartialStreamError) as caught:
        _stream(settings, "local", "demo-flaky", [{"role": "user", "content": "go"}])
    assert caught.value.partial.content and "You should never see this sentence end" not in caught.value.partial.content


def test_anthropic_protocol_demo_when_this_install_has_it(demo: Any) -> None:
    backend, settings = demo
    names = [m.name for m in backend.models]
    if not anthropic_demo_available():
        assert "demo-messages" not in names
        return
    reply = _stream(settings, "anthropic", "demo-messages", [{"role": "user", "content": "hello"}])
    assert "Anthropic Messages protocol" in reply.content
    assert any(r.protocol == "anthropic" for r in backend.server.requests)


async def test_three_demo_models_stream_concurrently_on_one_loop(demo: Any) -> None:
    _, settings = demo

    async def one(model: str) -> str:
        client = create_async_chat_client("local", model, settings=settings)
        async for _ in client.create_stream([{"role": "user", "content": "hi"}]):
            pass
        return model

    assert sorted(await asyncio.gather(*(one(m) for m in ("demo-fast", "demo-thinker", "demo-tools")))) == [
        "demo-fast",
        "demo-thinker",
        "demo-tools",
    ]


def test_the_demo_server_keeps_only_a_bounded_window_of_requests() -> None:
    from vv_llm.testing.demo import REQUEST_LOG_SIZE

    with DemoBackend(pace=0.0) as backend:
        settings = Settings()
        settings.load(backend.settings_dict())
        client = create_chat_client("local", "demo-fast", settings=settings)
        for i in range(REQUEST_LOG_SIZE + 15):
            client.create_completion([{"role": "user", "content": f"question {i}"}])
        assert len(backend.server.requests) == REQUEST_LOG_SIZE
        assert backend.server.requests[-1].json["messages"][-1]["content"] == f"question {REQUEST_LOG_SIZE + 14}"


def test_the_demo_stops_at_max_tokens_like_a_real_model(demo: Any) -> None:
    _, settings = demo
    reply = _stream(settings, "local", "demo-fast", [{"role": "user", "content": "Explain RAG in detail"}], max_tokens=16)
    assert reply.usage.completion_tokens <= 16 and reply.finish_reason == "length"
