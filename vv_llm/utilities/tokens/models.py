"""Which tokenizer counts a model's tokens, and which provider's message rules apply.

Order of evidence: the backend (given, or the one whose settings or catalogue list the model);
the model's catalogue ``tokenizer``; its provider id from settings or its name (``gpt-4o`` →
o200k_base, ``gpt-4`` → cl100k_base, ``qwen3-32b`` → Qwen's, ``deepseek-…`` → DeepSeek's, even on
Groq or a local server); the backend's catalogue ``tokenizer``. A name nothing recognises, on no
known backend, is counted with o200k_base and marked ``guessed`` (not exact).

Providers without a local tokenizer (Anthropic, Gemini and most others) get an **estimate**: the
o200k_base count scaled by a per-provider factor (:data:`ESTIMATE_SCALE`), rounded up. The
factors lean high on purpose, since context control relies on them:

* Anthropic ×1.20 — Claude's tokenizer yields roughly 10–30 % more tokens than o200k_base on
  English and code, more on CJK text; expect about ±20 %. The Claude 5.x models' new tokenizer
  yields ~30 % more again: their catalogue entries carry ``token_scale`` 1.56. Ask the provider's count endpoint
  (``count_tokens_remote``) for an exact figure.
* Gemini ×1.10 — Gemini's 256k SentencePiece vocabulary is close to o200k_base on English and
  CJK text, a little worse on code; expect about ±15 %.
* every other backend ×1.10 (Llama, Mistral, Kimi, GLM, MiniMax, Yi, …): ±25 %.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vv_llm.settings import settings
from vv_llm.settings.catalogue import backend_entry, catalogue, catalogue_model
from vv_llm.types.enums import BackendType

ESTIMATE_SCALE: dict[str, float] = {"anthropic": 1.20, "gemini": 1.10}
DEFAULT_ESTIMATE_SCALE = 1.10

EXACT = {"o200k_base", "cl100k_base", "deepseek", "qwen", "qwen3.5"}


@dataclass(frozen=True)
class TokenizerInfo:
    """How a model's tokens are counted."""

    tokenizer: str
    """``o200k_base``, ``cl100k_base``, ``deepseek``, ``qwen``, ``qwen3.5`` or ``estimate``."""
    family: str
    """Whose message rules apply: ``openai`` (every OpenAI-compatible API), ``anthropic``, ``gemini``."""
    backend: str | None
    """The backend the model was matched to (None when only its name was known)."""
    scale: float = 1.0
    """For ``estimate``: the factor applied to the o200k_base count."""
    guessed: bool = False
    """True when nothing identified the model, so o200k_base was assumed."""

    @property
    def exact(self) -> bool:
        """True when the text count equals the provider's own tokenizer's, to the token."""
        return self.tokenizer in EXACT and not self.guessed


_O_SERIES = re.compile(r"^(o\d|gpt-5|gpt-4o|gpt-4\.1|gpt-4\.5|chatgpt-|gpt-oss|codex-|computer-use)")
_CL100K = re.compile(r"^(gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada)")
_BACKEND_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("claude", "anthropic"),
    ("anthropic.", "anthropic"),
    ("gemini", "gemini"),
    ("gemma", "gemini"),
    ("deepseek", "deepseek"),
    ("qwen", "qwen"),
    ("qwq", "qwen"),
    ("qvq", "qwen"),
    ("mistral", "mistral"),
    ("codestral", "mistral"),
    ("pixtral", "mistral"),
    ("ministral", "mistral"),
    ("magistral", "mistral"),
    ("kimi", "moonshot"),
    ("moonshot", "moonshot"),
    ("minimax", "minimax"),
    ("abab", "minimax"),
    ("yi-", "yi"),
    ("glm", "zhipuai"),
    ("baichuan", "baichuan"),
    ("step-", "stepfun"),
    ("grok", "xai"),
    ("ernie", "ernie"),
    ("llama", "groq"),
)


def _base_name(model: str) -> str:
    """``openai/gpt-oss-120b`` → ``gpt-oss-120b``; ``us.anthropic.claude-…`` kept for prefix rules."""
    return model.rsplit("/", 1)[-1].strip().lower()


def tokenizer_by_name(model: str) -> str | None:
    """The exact tokenizer a model name implies, if any (``None``: no local tokenizer)."""
    name = _base_name(model)
    if _O_SERIES.match(name):
        return "o200k_base"
    if _CL100K.match(name):
        return "cl100k_base"
    if name.startswith("deepseek"):
        return "deepseek"
    if name.startswith(("qwen3.5", "qwen3.6")):
        return "qwen3.5"
    if name.startswith(("qwen", "qwq", "qvq")):
        return "qwen"
    return None


def backend_by_name(model: str) -> str | None:
    """The backend a model name most likely belongs to (None when nothing matches)."""
    name = _base_name(model)
    if _O_SERIES.match(name) or _CL100K.match(name):
        return "openai"
    if "claude" in name:
        return "anthropic"
    for prefix, backend in _BACKEND_BY_PREFIX:
        if name.startswith(prefix):
            return backend
    return None


def family_of(backend: str | None, model: str) -> str:
    """``anthropic``, ``gemini`` or ``openai`` (every OpenAI-compatible API)."""
    key = backend or backend_by_name(model)
    return key if key in ("anthropic", "gemini") else "openai"


def describe(model: str, backend: BackendType | str | None = None) -> TokenizerInfo:
    """How ``model``'s tokens are counted (see the module docstring for the order of evidence)."""
    key = BackendType.parse(backend).value if backend is not None else _configured_backend(model)
    setting = model_setting(key, model) if key is not None else None
    model_id = (setting or {}).get("id") or model
    if key is None:
        key = backend_by_name(model)
    family = family_of(key, model_id)
    if family != "openai":
        return TokenizerInfo("estimate", family, key, (setting or {}).get("token_scale") or ESTIMATE_SCALE[family])
    tokenizer = (setting or {}).get("tokenizer") or tokenizer_by_name(model_id) or tokenizer_by_name(model)
    if tokenizer is None and key is not None:
        tokenizer = backend_entry(key).get("tokenizer")
    if tokenizer is not None:
        return TokenizerInfo(tokenizer, family, key)
    if key is None:  # a name nothing recognises: the most common modern tokenizer
        return TokenizerInfo("o200k_base", family, None, guessed=True)
    return TokenizerInfo("estimate", family, key, DEFAULT_ESTIMATE_SCALE)


def model_setting(backend: BackendType | str, model: str) -> dict[str, Any] | None:
    """The model's catalogue entry merged with its user settings (None when neither has it).

    Unlike ``settings.resolve`` this needs no endpoint, so counting and pricing work for models
    that are not callable here.
    """
    key = BackendType.parse(backend).value
    base = catalogue_model(key, model)
    configured = settings.model.backends.get(key)
    user = configured.models.get(model) if configured else None
    if base is None and user is None:
        return None
    merged = dict(base or {})
    if user is not None:
        merged.update(user.model_dump(exclude_unset=True))
    return merged


def _configured_backend(model: str) -> str | None:
    """The backend whose settings or catalogue list ``model`` by name (settings first)."""
    for key, setting in settings.model.backends.items():
        if model in setting.models:
            return key
    for key, entry in catalogue()["backends"].items():
        if model in entry["models"]:
            return key
    return None
