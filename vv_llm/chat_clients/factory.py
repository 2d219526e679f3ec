"""``create_chat_client`` / ``create_async_chat_client``: a typed client for a backend.

One overload per backend and face maps the backend (member or its settings key) to its class in
``clients``, so ``create_chat_client(BackendType.OpenAI)`` is an ``OpenAIChatClient`` to editors and
type checkers; at run time each class registered its backend on its class line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Unpack, overload

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


# One line per backend: ruff format would wrap these to five lines each.
# fmt: off
@overload
def create_chat_client(backend: Literal[BackendType.OpenAI, "openai"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> OpenAIChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.Anthropic, "anthropic"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> AnthropicChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.DeepSeek, "deepseek"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> DeepSeekChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.Gemini, "gemini"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> GeminiChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.Qwen, "qwen"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> QwenChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.Groq, "groq"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> GroqChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.Mistral, "mistral"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> MistralChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.Moonshot, "moonshot"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> MoonshotChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.MiniMax, "minimax"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> MiniMaxChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.Yi, "yi"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> YiChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.ZhiPuAI, "zhipuai"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> ZhiPuAIChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.Baichuan, "baichuan"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> BaichuanChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.StepFun, "stepfun"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> StepFunChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.XAI, "xai"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> XAIChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.Ernie, "ernie"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> ErnieChatClient: ...
@overload
def create_chat_client(backend: Literal[BackendType.Local, "local"], model: str | None = None, **options: Unpack[ChatClientOptions]) -> LocalChatClient: ...
@overload
def create_chat_client(backend: BackendType | str, model: str | None = None, **options: Unpack[ChatClientOptions]) -> ChatClient: ...
# fmt: on
def create_chat_client(backend: BackendType | str, model: str | None = None, **options: Any) -> ChatClient:
    """A synchronous client for ``backend`` (a :class:`BackendType` or its name, any case).

    ``model`` is the default model of its calls (settings name; the backend's default if omitted),
    ``endpoint_id`` pins one endpoint, ``settings`` replaces the process-wide settings,
    ``http_client`` an ``httpx.Client`` of yours; other keyword arguments (``temperature=...``)
    become defaults of every call. Credential problems are reported here, not at the first request.
    """
    from vv_llm.chat_clients.clients import ChatClient

    kind = BackendType.parse(backend)
    return ChatClient.for_backend(kind)(kind, model, **options)


# fmt: off
@overload
def create_async_chat_client(backend: Literal[BackendType.OpenAI, "openai"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncOpenAIChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.Anthropic, "anthropic"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncAnthropicChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.DeepSeek, "deepseek"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncDeepSeekChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.Gemini, "gemini"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncGeminiChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.Qwen, "qwen"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncQwenChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.Groq, "groq"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncGroqChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.Mistral, "mistral"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncMistralChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.Moonshot, "moonshot"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncMoonshotChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.MiniMax, "minimax"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncMiniMaxChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.Yi, "yi"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncYiChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.ZhiPuAI, "zhipuai"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncZhiPuAIChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.Baichuan, "baichuan"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncBaichuanChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.StepFun, "stepfun"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncStepFunChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.XAI, "xai"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncXAIChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.Ernie, "ernie"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncErnieChatClient: ...
@overload
def create_async_chat_client(backend: Literal[BackendType.Local, "local"], model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncLocalChatClient: ...
@overload
def create_async_chat_client(backend: BackendType | str, model: str | None = None, **options: Unpack[AsyncChatClientOptions]) -> AsyncChatClient: ...
# fmt: on
def create_async_chat_client(backend: BackendType | str, model: str | None = None, **options: Any) -> AsyncChatClient:
    """An asynchronous client for ``backend`` (same arguments as :func:`create_chat_client`;
    ``http_client`` an ``httpx.AsyncClient``)."""
    from vv_llm.chat_clients.clients import AsyncChatClient

    kind = BackendType.parse(backend)
    return AsyncChatClient.for_backend(kind)(kind, model, **options)
