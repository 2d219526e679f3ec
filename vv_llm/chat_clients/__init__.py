"""Chat clients for every backend.

``from vv_llm.chat_clients import create_chat_client, create_async_chat_client, BackendType``.
The factory returns each backend's own class (``OpenAIChatClient``, ``AsyncOpenAIChatClient``, …),
all exported here. Importing this package is cheap: httpx, pydantic and tokenizers load when a
client is created or a name below is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.factory import create_async_chat_client, create_chat_client
from vv_llm.types.enums import BackendType

if TYPE_CHECKING:
    from vv_llm.chat_clients.base_client import AsyncChatClient, AsyncChatClientOptions, ChatClient, ChatClientOptions
    from vv_llm.chat_clients.clients import (
        AnthropicChatClient,
        AsyncAnthropicChatClient,
        AsyncBaichuanChatClient,
        AsyncDeepSeekChatClient,
        AsyncErnieChatClient,
        AsyncGeminiChatClient,
        AsyncGroqChatClient,
        AsyncLocalChatClient,
        AsyncMiniMaxChatClient,
        AsyncMistralChatClient,
        AsyncMoonshotChatClient,
        AsyncOpenAIChatClient,
        AsyncQwenChatClient,
        AsyncStepFunChatClient,
        AsyncXAIChatClient,
        AsyncYiChatClient,
        AsyncZhiPuAIChatClient,
        BaichuanChatClient,
        DeepSeekChatClient,
        ErnieChatClient,
        GeminiChatClient,
        GroqChatClient,
        LocalChatClient,
        MiniMaxChatClient,
        MistralChatClient,
        MoonshotChatClient,
        OpenAIChatClient,
        QwenChatClient,
        StepFunChatClient,
        XAIChatClient,
        YiChatClient,
        ZhiPuAIChatClient,
    )
    from vv_llm.chat_clients.message_formats import format_messages
    from vv_llm.chat_clients.remote_tokens import acount_tokens_remote, count_tokens_remote
    from vv_llm.chat_clients.streams import AsyncChatStream, ChatStream
    from vv_llm.types.options import CompletionOptions
    from vv_llm.utilities.tokens import get_message_token_counts, get_token_counts

_BACKEND_CLASSES = tuple(f"{face}{backend.name}ChatClient" for backend in BackendType for face in ("", "Async"))
"""The per-backend client classes (``clients``), one sync and one async per :class:`BackendType`."""

_LAZY = {
    "ChatClient": "vv_llm.chat_clients.base_client",
    "AsyncChatClient": "vv_llm.chat_clients.base_client",
    "ChatClientOptions": "vv_llm.chat_clients.base_client",
    "AsyncChatClientOptions": "vv_llm.chat_clients.base_client",
    "ChatStream": "vv_llm.chat_clients.streams",
    "AsyncChatStream": "vv_llm.chat_clients.streams",
    "CompletionOptions": "vv_llm.types.options",
    "format_messages": "vv_llm.chat_clients.message_formats",
    "count_tokens_remote": "vv_llm.chat_clients.remote_tokens",
    "acount_tokens_remote": "vv_llm.chat_clients.remote_tokens",
    "get_token_counts": "vv_llm.utilities.tokens",
    "get_message_token_counts": "vv_llm.utilities.tokens",
    **dict.fromkeys(_BACKEND_CLASSES, "vv_llm.chat_clients.clients"),
}

__all__ = [
    "AnthropicChatClient",
    "AsyncAnthropicChatClient",
    "AsyncBaichuanChatClient",
    "AsyncChatClient",
    "AsyncChatClientOptions",
    "AsyncChatStream",
    "AsyncDeepSeekChatClient",
    "AsyncErnieChatClient",
    "AsyncGeminiChatClient",
    "AsyncGroqChatClient",
    "AsyncLocalChatClient",
    "AsyncMiniMaxChatClient",
    "AsyncMistralChatClient",
    "AsyncMoonshotChatClient",
    "AsyncOpenAIChatClient",
    "AsyncQwenChatClient",
    "AsyncStepFunChatClient",
    "AsyncXAIChatClient",
    "AsyncYiChatClient",
    "AsyncZhiPuAIChatClient",
    "BackendType",
    "BaichuanChatClient",
    "ChatClient",
    "ChatClientOptions",
    "ChatStream",
    "CompletionOptions",
    "DeepSeekChatClient",
    "ErnieChatClient",
    "GeminiChatClient",
    "GroqChatClient",
    "LocalChatClient",
    "MiniMaxChatClient",
    "MistralChatClient",
    "MoonshotChatClient",
    "OpenAIChatClient",
    "QwenChatClient",
    "StepFunChatClient",
    "XAIChatClient",
    "YiChatClient",
    "ZhiPuAIChatClient",
    "acount_tokens_remote",
    "count_tokens_remote",
    "create_async_chat_client",
    "create_chat_client",
    "format_messages",
    "get_message_token_counts",
    "get_token_counts",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vv_llm.chat_clients' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
