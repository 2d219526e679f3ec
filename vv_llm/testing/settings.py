"""Settings that point every backend at a fake server."""

from __future__ import annotations

from typing import Any

from vv_llm.types.enums import BackendType

FAKE_KEY = "sk-fake-test-key-0123456789abcdef"


def base_path(backend: BackendType) -> str:
    """The path prefix each backend's real API base has, so requests look like the real ones."""
    return {
        BackendType.Anthropic: "",
        BackendType.Gemini: "/v1beta",
        BackendType.Qwen: "/compatible-mode/v1",
        BackendType.Groq: "/openai/v1",
        BackendType.ZhiPuAI: "/api/paas/v4",
        BackendType.Ernie: "/v2",
    }.get(backend, "/v1")


def fake_settings_dict(server: Any, *, api_key: str = FAKE_KEY, **rate_limit: Any) -> dict[str, Any]:
    endpoints = []
    backends: dict[str, Any] = {}
    for backend in BackendType:
        endpoint_id = f"fake-{backend.value}"
        endpoints.append({"id": endpoint_id, "api_base": server.url(base_path(backend)), "api_key": api_key})
        backends[backend.value] = {"endpoints": [endpoint_id]}
    backends["local"]["models"] = {"local-model": {"context_length": 32768, "max_output_tokens": 4096}}
    data: dict[str, Any] = {"VERSION": "2", "endpoints": endpoints, "backends": backends}
    if rate_limit:
        data["rate_limit"] = rate_limit
    return data
