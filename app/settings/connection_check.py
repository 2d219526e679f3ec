"""The editor's "Test connection": one tiny real call through one endpoint, timed, with plain advice."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vv_llm.chat_clients import create_chat_client
from vv_llm.errors import APIConnectionError, APITimeoutError, AuthenticationError, BadRequestError
from vv_llm.settings import Settings

PROMPT = [{"role": "user", "content": "Reply with the single word OK."}]
NATIVE_PROTOCOL_BACKENDS = frozenset({"anthropic", "gemini"})
"""Backends whose API base is not an OpenAI-compatible ``…/v1`` URL."""
_VERSION_SEGMENT = re.compile(r"^v\d+[a-z0-9]*$")


@dataclass
class ConnectionResult:
    ok: bool
    message: str
    latency: float | None = None
    model: str | None = None
    hint: str | None = None
    """What to try (our own Markdown, no provider text), shown under a failure."""


def base_url_hint(api_base: str | None, backends: Iterable[str], *, kind: str = "standard") -> str | None:
    """A warning when an OpenAI-compatible endpoint's base URL lacks the version path (``/v1``).

    Without it, requests go to ``…/chat/completions`` instead of ``…/v1/chat/completions``, which
    many servers answer with a confusing 401 or 404.
    """
    if not api_base or kind != "standard":
        return None
    users = set(backends)
    if users and users <= NATIVE_PROTOCOL_BACKENDS:
        return None
    try:
        parts = urlsplit(api_base)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc or any(_VERSION_SEGMENT.match(s) for s in parts.path.split("/")):
        return None
    suggestion = api_base.rstrip("/") + "/v1"
    return f"No version path in this base URL: OpenAI-compatible servers usually answer at `{suggestion}`."


def _has_credentials(endpoint: dict[str, Any]) -> bool:
    return bool(endpoint.get("api_key") or endpoint.get("credentials") or endpoint.get("is_bedrock") or endpoint.get("is_vertex"))


def check_endpoint(
    data: dict[str, Any], endpoint_id: str, backend: str, model: str | None = None, *, timeout: float = 20.0
) -> ConnectionResult:
    """Call ``model`` of ``backend`` (its default when None) through ``endpoint_id`` once, without retries.

    The settings in ``data`` are used as they are (unsaved edits included); the endpoint is
    attached to the backend when nothing uses it yet. Failures come back as the engine's typed
    error, with a hint where the cause is likely ours (no key, a base URL without ``/v1``).
    """
    endpoint = next((e for e in data.get("endpoints") or [] if isinstance(e, dict) and e.get("id") == endpoint_id), {})
    if not _has_credentials(endpoint) and backend != "local":
        return ConnectionResult(
            False,
            f"No API key set for endpoint {endpoint_id!r}: nothing was sent.",
            hint="Type the key in **API key** — *Test connection* uses what the form shows, saved or not.",
        )
    payload = copy.deepcopy(data)
    payload["retry"] = {"max_attempts": 1}
    payload["rate_limit"] = {"enabled": False}
    backend_setting = payload.setdefault("backends", {}).setdefault(backend, {})
    if model is None and endpoint_id not in [
        r if isinstance(r, str) else r.get("endpoint_id") for r in backend_setting.get("endpoints") or []
    ]:
        backend_setting["endpoints"] = [*(backend_setting.get("endpoints") or []), endpoint_id]
    try:
        settings = Settings()
        settings.load(payload)
        name = model or settings.default_model(backend)
        client = create_chat_client(backend, name, endpoint_id=endpoint_id, settings=settings)
        started = time.monotonic()
        reply = client.create_completion(PROMPT, max_tokens=16, timeout=timeout)
        latency = time.monotonic() - started
    except Exception as exc:
        return ConnectionResult(False, f"{type(exc).__name__}: {exc}", hint=_hint(exc, endpoint, backend))
    said = (reply.content or "").strip().replace("\n", " ")
    return ConnectionResult(True, f"answered {said[:60]!r}" if said else "answered", latency, name)


def _hint(exc: Exception, endpoint: dict[str, Any], backend: str) -> str | None:
    kind = next((k for k in ("azure", "vertex", "bedrock") if endpoint.get(f"is_{k}")), "standard")
    path = base_url_hint(endpoint.get("api_base"), [backend], kind=kind)
    if isinstance(exc, AuthenticationError):
        if not _has_credentials(endpoint):
            advice = "The server wants an API key and none is set: type it in **API key**."
        else:
            advice = "The server refused this key: check it was copied whole and belongs to this provider."
        return f"{advice} {path} A wrong path is often answered with 401 too." if path else advice
    if isinstance(exc, BadRequestError) and getattr(exc, "status", None) == 404 and path:
        return path
    if isinstance(exc, APIConnectionError) and not isinstance(exc, APITimeoutError):
        return "Nothing answered at this base URL: check the host and port, and that the server is running."
    return None
