"""Checked by mypy (``files`` in pyproject), never run: what editors and type checkers see.

``assert_type`` lines must hold; each ``# type: ignore[...]`` line must stay an error (this
module sets ``warn_unused_ignores``, so an ignore that is no longer needed fails mypy).
"""

from __future__ import annotations

from typing import assert_type

from vv_llm.chat_clients import (
    AnthropicChatClient,
    AsyncChatClient,
    AsyncChatStream,
    AsyncOpenAIChatClient,
    BackendType,
    ChatClient,
    ChatStream,
    CompletionOptions,
    GeminiChatClient,
    OpenAIChatClient,
    create_async_chat_client,
    create_chat_client,
)
from vv_llm.types.messages import ChatCompletionMessage

MESSAGES = [{"role": "user", "content": "hi"}]


def factory_types(backend: BackendType, name: str) -> None:
    assert_type(create_chat_client(BackendType.OpenAI), OpenAIChatClient)
    assert_type(create_chat_client("openai", model="gpt-4o"), OpenAIChatClient)
    assert_type(create_chat_client(BackendType.Anthropic, "claude-sonnet-4-5", temperature=0.2), AnthropicChatClient)
    assert_type(create_chat_client("gemini", endpoint_id="fake-gemini"), GeminiChatClient)
    assert_type(create_async_chat_client(BackendType.OpenAI), AsyncOpenAIChatClient)
    assert_type(create_async_chat_client("openai"), AsyncOpenAIChatClient)
    assert_type(create_chat_client(backend), ChatClient)
    assert_type(create_chat_client(name), ChatClient)
    assert_type(create_async_chat_client(name), AsyncChatClient)
    create_chat_client("openai", temprature=0.2)  # type: ignore[call-overload]
    create_chat_client("openai", http_client=object())  # type: ignore[call-overload]


def call_types(client: OpenAIChatClient, options: CompletionOptions) -> None:
    assert_type(client.create_completion(MESSAGES), ChatCompletionMessage)
    assert_type(client.create_completion(MESSAGES, "gpt-4o", temperature=0.2, max_tokens=10, timeout=(3, 30)), ChatCompletionMessage)
    assert_type(client.create_completion(MESSAGES, stream=True), ChatStream)
    assert_type(client.create_stream(MESSAGES, max_tokens=10, unsupported="drop"), ChatStream)
    assert_type(client.create_completion(MESSAGES, **options), ChatCompletionMessage)
    assert_type(client.count_tokens(MESSAGES), int)
    client.create_completion(MESSAGES, temprature=0.2)  # type: ignore[call-overload]
    client.create_completion(MESSAGES, max_tokens="ten")  # type: ignore[call-overload]
    client.create_stream(MESSAGES, unsupported="ignore")  # type: ignore[arg-type]
    client.create_stream(MESSAGES, max_token=10)  # type: ignore[call-arg]


async def async_call_types(client: AsyncOpenAIChatClient) -> None:
    assert_type(await client.create_completion(MESSAGES, temperature=0.2), ChatCompletionMessage)
    assert_type(await client.create_completion(MESSAGES, stream=True), AsyncChatStream)
    assert_type(client.create_stream(MESSAGES, top_p=0.9), AsyncChatStream)
    assert_type(await client.count_tokens(MESSAGES, tools=[]), int)
    await client.create_completion(MESSAGES, temprature=0.2)  # type: ignore[call-overload]
