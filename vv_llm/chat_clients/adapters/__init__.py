"""Provider adapters, one protocol per module, chosen per backend and endpoint kind."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from vv_llm.types.enums import BackendType

if TYPE_CHECKING:
    from vv_llm.chat_clients.adapters.base import Adapter
    from vv_llm.settings.store import ResolvedEndpoint

_NATIVE = {
    BackendType.Anthropic: "vv_llm.chat_clients.adapters.anthropic:AnthropicAdapter",
    BackendType.Gemini: "vv_llm.chat_clients.adapters.gemini:GeminiAdapter",
}
_OPENAI = "vv_llm.chat_clients.adapters.openai_compatible:OpenAICompatibleAdapter"
_VERTEX = {
    BackendType.Anthropic: "vv_llm.chat_clients.adapters.anthropic_vertex:VertexAnthropicAdapter",
    BackendType.Gemini: "vv_llm.chat_clients.adapters.gemini_vertex:VertexGeminiAdapter",
}
_BEDROCK = "vv_llm.chat_clients.adapters.bedrock:BedrockAdapter"


def adapter_path(backend: BackendType, endpoint: ResolvedEndpoint) -> str:
    setting = endpoint.endpoint
    if setting.is_bedrock:
        return _BEDROCK
    if setting.is_vertex:
        return _VERTEX.get(backend, _VERTEX[BackendType.Gemini])
    return _NATIVE.get(backend, _OPENAI)


def adapter_for(backend: BackendType, endpoint: ResolvedEndpoint) -> Adapter:
    """The adapter that speaks ``endpoint``'s protocol for ``backend`` (imported on first use)."""
    module, _, name = adapter_path(backend, endpoint).partition(":")
    return getattr(import_module(module), name)(backend, endpoint)
