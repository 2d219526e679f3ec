"""``create_chat_client`` / ``create_async_chat_client``: a typed client for a backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

from vv_llm.types.enums import BackendType

if TYPE_CHECKING:
    import httpx

    from vv_llm.chat_clients.base_client import AsyncChatClient, ChatClient
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
    from vv_llm.settings.store import Settings


@overload
def create_chat_client(
    backend: Literal[BackendType.OpenAI],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> OpenAIChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.Anthropic],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> AnthropicChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.DeepSeek],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> DeepSeekChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.Gemini],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> GeminiChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.Qwen],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> QwenChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.Groq],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> GroqChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.Mistral],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> MistralChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.Moonshot],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> MoonshotChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.MiniMax],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> MiniMaxChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.Yi],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> YiChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.ZhiPuAI],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> ZhiPuAIChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.Baichuan],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> BaichuanChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.StepFun],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> StepFunChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.XAI],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> XAIChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.Ernie],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> ErnieChatClient: ...
@overload
def create_chat_client(
    backend: Literal[BackendType.Local],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> LocalChatClient: ...
@overload
def create_chat_client(
    backend: BackendType | str,
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> ChatClient: ...
def create_chat_client(
    backend: BackendType | str,
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.Client | None = None,
    **defaults: Any,
) -> ChatClient:
    """A synchronous client for ``backend``.

    ``model`` is the default model of its calls (settings name; the backend's default if omitted),
    ``endpoint_id`` pins one endpoint, other keyword arguments (``temperature=...``) become defaults
    of every call. Credential problems are reported here, not at the first request.
    """
    from vv_llm.chat_clients.clients import SYNC_CLIENTS

    backend = BackendType.parse(backend)
    return SYNC_CLIENTS[backend.value](backend, model, endpoint_id=endpoint_id, settings=settings, http_client=http_client, **defaults)


@overload
def create_async_chat_client(
    backend: Literal[BackendType.OpenAI],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncOpenAIChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.Anthropic],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncAnthropicChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.DeepSeek],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncDeepSeekChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.Gemini],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncGeminiChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.Qwen],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncQwenChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.Groq],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncGroqChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.Mistral],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncMistralChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.Moonshot],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncMoonshotChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.MiniMax],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncMiniMaxChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.Yi],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncYiChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.ZhiPuAI],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncZhiPuAIChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.Baichuan],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncBaichuanChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.StepFun],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncStepFunChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.XAI],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncXAIChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.Ernie],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncErnieChatClient: ...
@overload
def create_async_chat_client(
    backend: Literal[BackendType.Local],
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncLocalChatClient: ...
@overload
def create_async_chat_client(
    backend: BackendType | str,
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncChatClient: ...
def create_async_chat_client(
    backend: BackendType | str,
    model: str | None = None,
    *,
    endpoint_id: str | None = None,
    settings: Settings | None = None,
    http_client: httpx.AsyncClient | None = None,
    **defaults: Any,
) -> AsyncChatClient:
    """An asynchronous client for ``backend`` (same arguments as :func:`create_chat_client`)."""
    from vv_llm.chat_clients.clients import ASYNC_CLIENTS

    backend = BackendType.parse(backend)
    return ASYNC_CLIENTS[backend.value](backend, model, endpoint_id=endpoint_id, settings=settings, http_client=http_client, **defaults)
