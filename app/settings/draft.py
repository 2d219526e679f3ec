"""Helpers for editing settings in the browser: endpoint references, imports, error placement."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any


def ref_id(ref: Any) -> str | None:
    if isinstance(ref, str):
        return ref
    if isinstance(ref, dict):
        value = ref.get("endpoint_id")
        return value if isinstance(value, str) else None
    return None


def models_using(data: dict[str, Any], endpoint_id: str) -> list[tuple[str, str | None]]:
    """``(backend, model)`` pairs that call ``endpoint_id``; model None means the backend's default."""
    found: list[tuple[str, str | None]] = []
    for backend, setting in (data.get("backends") or {}).items():
        if not isinstance(setting, dict):
            continue
        models = setting.get("models") or {}
        for name, model in models.items():
            if isinstance(model, dict) and any(ref_id(r) == endpoint_id for r in model.get("endpoints") or []):
                found.append((backend, name))
        if any(ref_id(r) == endpoint_id for r in setting.get("endpoints") or []):
            found.append((backend, setting.get("default_model") or None))
    return found


def rename_endpoint_refs(data: dict[str, Any], old: str, new: str) -> None:
    """Point every reference to endpoint ``old`` at ``new`` (in place)."""

    def renamed(refs: list[Any]) -> list[Any]:
        out: list[Any] = []
        for ref in refs:
            if ref == old:
                out.append(new)
            elif isinstance(ref, dict) and ref.get("endpoint_id") == old:
                out.append({**ref, "endpoint_id": new})
            else:
                out.append(ref)
        return out

    for setting in (data.get("backends") or {}).values():
        if not isinstance(setting, dict):
            continue
        if setting.get("endpoints"):
            setting["endpoints"] = renamed(setting["endpoints"])
        for model in (setting.get("models") or {}).values():
            if isinstance(model, dict) and model.get("endpoints"):
                model["endpoints"] = renamed(model["endpoints"])


def parse_import(text: str) -> dict[str, Any]:
    """Settings from pasted or uploaded JSON (raises ``ValueError`` with a readable reason)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"settings must be a JSON object, not {type(data).__name__}")
    return data


def merge_import(current: dict[str, Any], imported: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``imported``, keeping the current key of every endpoint (same id) the import has no key for.

    Exports leave keys out, so importing one back must not wipe them. Returns the ids whose keys were kept.
    """
    data = copy.deepcopy(imported)
    keys = {e.get("id"): e.get("api_key") for e in current.get("endpoints") or [] if isinstance(e, dict) and e.get("api_key")}
    kept = []
    for endpoint in data.get("endpoints") or []:
        if not isinstance(endpoint, dict):
            continue
        if endpoint.get("api_key") in (None, "", "***") and endpoint.get("id") in keys:
            endpoint["api_key"] = keys[endpoint["id"]]
            kept.append(str(endpoint["id"]))
        elif endpoint.get("api_key") == "***":
            endpoint.pop("api_key")
    return data, kept


def best_slot(path: str, slots: Iterable[str]) -> str | None:
    """The registered field path that best matches an error path (itself, else its nearest parent)."""
    known = set(slots)
    candidate = path
    while candidate:
        if candidate in known:
            return candidate
        cut = max(candidate.rfind("."), candidate.rfind("["))
        if cut <= 0:
            return None
        candidate = candidate[:cut]
    return None
