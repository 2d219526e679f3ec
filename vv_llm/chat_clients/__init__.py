"""Chat clients for every backend.

``from vv_llm.chat_clients import create_chat_client, create_async_chat_client, BackendType``.
Importing this package is cheap: httpx, pydantic and tokenizers load when a client is created
or a function is first called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.factory import create_async_chat_client, create_chat_client
from vv_llm.types.enums import BackendType

if TYPE_CHECKING:
    from vv_llm.chat_clients.base_client import AsyncChatClient, ChatClient
    from vv_llm.chat_clients.format_messages import format_messages
    from vv_llm.chat_clients.streams import AsyncChatStream, ChatStream
    from vv_llm.utilities.tokens import get_message_token_counts, get_token_counts

__all__ = [
    "AsyncChatClient",
    "AsyncChatStream",
    "BackendType",
    "ChatClient",
    "ChatStream",
    "create_async_chat_client",
    "create_chat_client",
    "format_messages",
    "get_message_token_counts",
    "get_token_counts",
]

_LAZY = {
    "ChatClient": "vv_llm.chat_clients.base_client",
    "AsyncChatClient": "vv_llm.chat_clients.base_client",
    "ChatStream": "vv_llm.chat_clients.streams",
    "AsyncChatStream": "vv_llm.chat_clients.streams",
    "format_messages": "vv_llm.chat_clients.format_messages",
    "get_token_counts": "vv_llm.utilities.tokens",
    "get_message_token_counts": "vv_llm.utilities.tokens",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vv_llm.chat_clients' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
