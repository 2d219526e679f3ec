"""vv-llm: one typed API over many LLM backends, sync and async.

Importing ``vv_llm`` loads almost nothing; the engine's dependencies load when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vv_llm.chat_clients import create_async_chat_client, create_chat_client
    from vv_llm.settings import settings
    from vv_llm.types.enums import BackendType

__all__ = ["BackendType", "__version__", "create_async_chat_client", "create_chat_client", "settings"]

_LAZY = {
    "BackendType": "vv_llm.types.enums",
    "create_chat_client": "vv_llm.chat_clients.factory",
    "create_async_chat_client": "vv_llm.chat_clients.factory",
    "settings": "vv_llm.settings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vv_llm' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
