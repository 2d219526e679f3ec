"""Live connectivity: one small check per configured backend against the real provider, with real keys.

Opt-in only: ``pytest -m live`` (or ``bash scripts/test-live``); the default run and CI never collect
this folder. A backend without a key is skipped with the variable to set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from live_backends import LIVE_BACKENDS, LiveBackend, model_for, settings_for

from vv_llm.chat_clients import create_chat_client
from vv_llm.settings import settings

pytestmark = pytest.mark.live

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(autouse=True)
def _fresh_settings() -> Any:
    settings.reset()
    yield
    settings.reset()


@pytest.mark.parametrize("live", LIVE_BACKENDS, ids=[b.backend for b in LIVE_BACKENDS])
def test_backend_answers_streams_and_calls_a_tool_with_usage(live: LiveBackend) -> None:
    configured = settings_for(live)
    if isinstance(configured, str):
        pytest.skip(configured)
    if isinstance(configured, Path):
        settings.load_file(configured)
    else:
        settings.load(configured)
    client = create_chat_client(live.backend, model=model_for(live), max_retries=1)

    reply = client.create_completion([{"role": "user", "content": "Reply with the single word: pong"}], max_tokens=200)
    assert reply.content and "pong" in reply.content.lower()
    assert reply.usage is not None and reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0

    stream = client.create_stream([{"role": "user", "content": "Count from 1 to 5, digits separated by spaces."}], max_tokens=200)
    chunks = [chunk.content for chunk in stream if chunk.content]
    assert len(chunks) >= 1 and "3" in "".join(chunks)
    assert stream.message.usage is not None and stream.message.usage.completion_tokens > 0

    called = client.create_completion(
        [{"role": "user", "content": "What is the weather in Paris right now? Use the tool."}],
        tools=[WEATHER_TOOL],
        tool_choice="required",
        max_tokens=300,
    )
    assert called.tool_calls, called.content
    assert called.tool_calls[0].function.name == "get_weather"
    assert "paris" in json.dumps(called.tool_calls[0].parsed_arguments()).lower()
    assert called.usage is not None and called.usage.prompt_tokens > 0
