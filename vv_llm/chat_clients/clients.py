"""One client class per backend, so editors and type checkers know what the factory returns."""

from __future__ import annotations

from vv_llm.chat_clients.base_client import AsyncChatClient, ChatClient


class OpenAIChatClient(ChatClient):
    """Synchronous OpenAI client."""


class AsyncOpenAIChatClient(AsyncChatClient):
    """Asynchronous OpenAI client."""


class AnthropicChatClient(ChatClient):
    """Synchronous Anthropic client."""


class AsyncAnthropicChatClient(AsyncChatClient):
    """Asynchronous Anthropic client."""


class DeepSeekChatClient(ChatClient):
    """Synchronous DeepSeek client."""


class AsyncDeepSeekChatClient(AsyncChatClient):
    """Asynchronous DeepSeek client."""


class GeminiChatClient(ChatClient):
    """Synchronous Gemini client."""


class AsyncGeminiChatClient(AsyncChatClient):
    """Asynchronous Gemini client."""


class QwenChatClient(ChatClient):
    """Synchronous Qwen client."""


class AsyncQwenChatClient(AsyncChatClient):
    """Asynchronous Qwen client."""


class GroqChatClient(ChatClient):
    """Synchronous Groq client."""


class AsyncGroqChatClient(AsyncChatClient):
    """Asynchronous Groq client."""


class MistralChatClient(ChatClient):
    """Synchronous Mistral client."""


class AsyncMistralChatClient(AsyncChatClient):
    """Asynchronous Mistral client."""


class MoonshotChatClient(ChatClient):
    """Synchronous Moonshot client."""


class AsyncMoonshotChatClient(AsyncChatClient):
    """Asynchronous Moonshot client."""


class MiniMaxChatClient(ChatClient):
    """Synchronous MiniMax client."""


class AsyncMiniMaxChatClient(AsyncChatClient):
    """Asynchronous MiniMax client."""


class YiChatClient(ChatClient):
    """Synchronous Yi client."""


class AsyncYiChatClient(AsyncChatClient):
    """Asynchronous Yi client."""


class ZhiPuAIChatClient(ChatClient):
    """Synchronous ZhiPuAI client."""


class AsyncZhiPuAIChatClient(AsyncChatClient):
    """Asynchronous ZhiPuAI client."""


class BaichuanChatClient(ChatClient):
    """Synchronous Baichuan client."""


class AsyncBaichuanChatClient(AsyncChatClient):
    """Asynchronous Baichuan client."""


class StepFunChatClient(ChatClient):
    """Synchronous StepFun client."""


class AsyncStepFunChatClient(AsyncChatClient):
    """Asynchronous StepFun client."""


class XAIChatClient(ChatClient):
    """Synchronous XAI client."""


class AsyncXAIChatClient(AsyncChatClient):
    """Asynchronous XAI client."""


class ErnieChatClient(ChatClient):
    """Synchronous Ernie client."""


class AsyncErnieChatClient(AsyncChatClient):
    """Asynchronous Ernie client."""


class LocalChatClient(ChatClient):
    """Synchronous Local client."""


class AsyncLocalChatClient(AsyncChatClient):
    """Asynchronous Local client."""


SYNC_CLIENTS: dict[str, type[ChatClient]] = {
    "openai": OpenAIChatClient,
    "anthropic": AnthropicChatClient,
    "deepseek": DeepSeekChatClient,
    "gemini": GeminiChatClient,
    "qwen": QwenChatClient,
    "groq": GroqChatClient,
    "mistral": MistralChatClient,
    "moonshot": MoonshotChatClient,
    "minimax": MiniMaxChatClient,
    "yi": YiChatClient,
    "zhipuai": ZhiPuAIChatClient,
    "baichuan": BaichuanChatClient,
    "stepfun": StepFunChatClient,
    "xai": XAIChatClient,
    "ernie": ErnieChatClient,
    "local": LocalChatClient,
}
ASYNC_CLIENTS: dict[str, type[AsyncChatClient]] = {
    "openai": AsyncOpenAIChatClient,
    "anthropic": AsyncAnthropicChatClient,
    "deepseek": AsyncDeepSeekChatClient,
    "gemini": AsyncGeminiChatClient,
    "qwen": AsyncQwenChatClient,
    "groq": AsyncGroqChatClient,
    "mistral": AsyncMistralChatClient,
    "moonshot": AsyncMoonshotChatClient,
    "minimax": AsyncMiniMaxChatClient,
    "yi": AsyncYiChatClient,
    "zhipuai": AsyncZhiPuAIChatClient,
    "baichuan": AsyncBaichuanChatClient,
    "stepfun": AsyncStepFunChatClient,
    "xai": AsyncXAIChatClient,
    "ernie": AsyncErnieChatClient,
    "local": AsyncLocalChatClient,
}
