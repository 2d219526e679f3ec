"""Upgrade older settings layouts to VERSION "2"."""

from __future__ import annotations

from typing import Any

from vv_llm.errors import SettingsError
from vv_llm.types.enums import BackendType

_BACKEND_KEYS = {m.value for m in BackendType}
KNOWN_VERSIONS = ("1", "2")


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Return a VERSION "2" dict for ``data``.

    VERSION "1" (or no VERSION) put each backend at the top level (``{"openai": {"models": ...}}``)
    beside ``endpoints``, and called the per-model endpoint override ``model_id`` ``model``.
    """
    version = str(data.get("VERSION", "1" if _looks_v1(data) else "2"))
    if version not in KNOWN_VERSIONS:
        shown = repr(data["VERSION"])[:32]
        raise SettingsError([("VERSION", f'unknown settings version {shown}; this vv-llm reads VERSION "2" (and upgrades "1")')])
    if version == "2":
        return data
    upgraded: dict[str, Any] = {"VERSION": "2"}
    given = data.get("backends") or {}
    if not isinstance(given, dict):
        return data  # not an older layout we know; validation names the field
    backends: dict[str, Any] = dict(given)
    for key, value in data.items():
        if key in ("VERSION", "backends"):
            continue
        if isinstance(key, str) and key.lower() in _BACKEND_KEYS and isinstance(value, dict):
            backends[key.lower()] = _upgrade_backend(value)
        else:
            upgraded[key] = value
    upgraded["backends"] = backends
    return upgraded


def _looks_v1(data: dict[str, Any]) -> bool:
    return any(isinstance(key, str) and key.lower() in _BACKEND_KEYS for key in data)


def _upgrade_backend(backend: dict[str, Any]) -> dict[str, Any]:
    given = backend.get("models") or {}
    if not isinstance(given, dict):
        return backend
    models = {}
    for name, model in given.items():
        if not isinstance(model, dict):
            models[name] = model
            continue
        model = dict(model)
        refs = []
        endpoints = model.get("endpoints") or []
        if not isinstance(endpoints, list):
            models[name] = model
            continue
        for ref in endpoints:
            if isinstance(ref, dict) and "model" in ref and "model_id" not in ref:
                ref = {**ref, "model_id": ref["model"]}
                del ref["model"]
            refs.append(ref)
        model["endpoints"] = refs
        models[name] = model
    return {**backend, "models": models}
