"""Validate OpenAI-format messages before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vv_llm.errors import InvalidRequestError
from vv_llm.utilities.media import file_to_data_url, is_remote

ROLES = {"system", "developer", "user", "assistant", "tool"}


def has_images(messages: list[dict[str, Any]]) -> bool:
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content):
            return True
    return False


def prepare_messages(messages: Any) -> list[dict[str, Any]]:
    """Check roles and parts; turn local image paths into data URLs. Returns a new list only when
    something had to change (the common text-only case costs one pass, no copies)."""
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts")
    out: list[dict[str, Any]] | None = None
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequestError(f"messages[{i}] must be a dict, got {type(message).__name__}")
        role = message.get("role")
        if role not in ROLES:
            raise InvalidRequestError(f"messages[{i}].role must be one of {', '.join(sorted(ROLES))} (got {role!r})")
        content = message.get("content")
        if content is None:
            if role == "assistant" and message.get("tool_calls"):
                continue
            raise InvalidRequestError(f"messages[{i}].content is missing")
        if role == "tool" and not message.get("tool_call_id"):
            raise InvalidRequestError(f"messages[{i}].tool_call_id is required for a tool message")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise InvalidRequestError(f"messages[{i}].content must be a string or a list of parts")
        new_parts = _prepare_parts(content, i)
        if new_parts is not None:
            if out is None:
                out = list(messages)
            out[i] = {**message, "content": new_parts}
    return out if out is not None else messages


def _prepare_parts(parts: list[Any], i: int) -> list[dict[str, Any]] | None:
    changed: list[dict[str, Any]] | None = None
    for j, part in enumerate(parts):
        where = f"messages[{i}].content[{j}]"
        if not isinstance(part, dict) or "type" not in part:
            raise InvalidRequestError(f"{where} must be a dict with a 'type'")
        kind = part["type"]
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise InvalidRequestError(f"{where}.text must be a string")
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise InvalidRequestError(f"{where}.image_url.url must be a URL, data URL or file path")
            if url.startswith(("data:", "gs://")) or is_remote(url):  # gs://: Gemini/Vertex fetch Cloud Storage URIs
                continue
            path = Path(url[7:] if url.startswith("file://") else url).expanduser()
            try:
                data_url = file_to_data_url(path)
            except OSError as exc:
                raise InvalidRequestError(f"{where}.image_url: cannot read image file {str(path)!r}: {exc.strerror}") from None
            except ValueError as exc:
                raise InvalidRequestError(f"{where}.image_url: {str(path)!r}: {exc}") from None
            if changed is None:
                changed = list(parts)
            detail = image.get("detail") if isinstance(image, dict) else None
            changed[j] = {"type": "image_url", "image_url": {"url": data_url, **({"detail": detail} if detail else {})}}
    return changed


def tool_arguments(arguments: Any, where: str = "arguments") -> dict[str, Any]:
    """A tool call's JSON arguments as the object Anthropic, Gemini and Bedrock expect."""
    if isinstance(arguments, dict):
        return arguments
    if arguments is None or arguments == "":
        return {}
    try:
        value = json.loads(arguments)
    except (TypeError, ValueError):
        raise InvalidRequestError(f"{where} is not valid JSON: {str(arguments)[:80]!r}") from None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"{where} must be a JSON object (got {type(value).__name__})")
    return value
