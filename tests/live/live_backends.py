"""Which backends the live suite can reach, and with which key.

A backend is configured when its key is in the environment (``OPENAI_API_KEY``, ...) or when the
settings file named by ``VV_LLM_LIVE_SETTINGS`` (else ``VV_LLM_SETTINGS``) gives it an endpoint
with a key. ``VV_LLM_LIVE_MODEL_<BACKEND>`` picks another model than the small default below.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vv_llm.types.enums import BackendType


@dataclass(frozen=True)
class LiveBackend:
    backend: str
    key_env: str
    """The environment variable holding the key."""
    model: str
    """A small, cheap model with tool support."""
    api_base_env: str | None = None
    """For ``local``: where the OpenAI-compatible server runs (it has no key)."""


LIVE_BACKENDS = (
    LiveBackend("openai", "OPENAI_API_KEY", "gpt-4.1-nano"),
    LiveBackend("anthropic", "ANTHROPIC_API_KEY", "claude-haiku-4-5"),
    LiveBackend("deepseek", "DEEPSEEK_API_KEY", "deepseek-chat"),
    LiveBackend("gemini", "GEMINI_API_KEY", "gemini-2.5-flash-lite"),
    LiveBackend("qwen", "DASHSCOPE_API_KEY", "qwen-turbo"),
    LiveBackend("groq", "GROQ_API_KEY", "llama-3.1-8b-instant"),
    LiveBackend("mistral", "MISTRAL_API_KEY", "mistral-small-latest"),
    LiveBackend("moonshot", "MOONSHOT_API_KEY", "kimi-k2-0905-preview"),
    LiveBackend("minimax", "MINIMAX_API_KEY", "MiniMax-M2"),
    LiveBackend("yi", "YI_API_KEY", "yi-lightning"),
    LiveBackend("zhipuai", "ZHIPUAI_API_KEY", "glm-4-flash"),
    LiveBackend("baichuan", "BAICHUAN_API_KEY", "Baichuan4-Air"),
    LiveBackend("stepfun", "STEPFUN_API_KEY", "step-1-8k"),
    LiveBackend("xai", "XAI_API_KEY", "grok-3-mini"),
    LiveBackend("ernie", "QIANFAN_API_KEY", "ernie-speed-128k"),
    LiveBackend("local", "VV_LLM_LIVE_LOCAL_API_BASE", "local-model", api_base_env="VV_LLM_LIVE_LOCAL_API_BASE"),
)
assert {b.backend for b in LIVE_BACKENDS} == {b.value for b in BackendType}


def settings_file() -> str | None:
    return os.environ.get("VV_LLM_LIVE_SETTINGS") or os.environ.get("VV_LLM_SETTINGS") or None


def model_for(live: LiveBackend) -> str:
    return os.environ.get(f"VV_LLM_LIVE_MODEL_{live.backend.upper()}") or live.model


def settings_for(live: LiveBackend) -> dict[str, Any] | Path | str:
    """Settings that reach ``live``'s backend (a dict, or the settings file to load), or the reason
    it cannot be tested (naming the variable)."""
    from vv_llm.settings.store import Settings

    model = model_for(live)
    path = settings_file()
    if path:
        loaded = Settings()
        loaded.load_file(path)
        configured = loaded.model.backends.get(live.backend)
        if configured is not None:
            try:
                resolved = loaded.resolve(live.backend, model)
            except Exception as exc:
                return f"{path} configures {live.backend} but not {model!r} ({type(exc).__name__}); set VV_LLM_LIVE_MODEL_{live.backend.upper()}"
            if any(e.endpoint.api_key is not None or e.endpoint.is_vertex or e.endpoint.is_bedrock for e in resolved.endpoints):
                return Path(path)
    value = os.environ.get(live.key_env)
    if not value:
        where = (
            f" or configure the {live.backend} backend with a key in {path}"
            if path
            else " (or give a settings file in VV_LLM_LIVE_SETTINGS)"
        )
        return f"{live.key_env} is not set{where}"
    endpoint: dict[str, Any] = {"id": f"live-{live.backend}"}
    if live.api_base_env:
        endpoint["api_base"] = value
    else:
        endpoint["api_key"] = value
    models: dict[str, Any] = {model: {"endpoints": [endpoint["id"]]}}
    if live.backend == "local":
        models[model].update(context_length=8192, max_output_tokens=1024, function_call_available=True)
    return {"VERSION": "2", "endpoints": [endpoint], "backends": {live.backend: {"models": models}}}
