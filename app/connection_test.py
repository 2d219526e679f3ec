"""The editor's "Test connection": one tiny real call through one endpoint, timed."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from vv_llm.chat_clients import create_chat_client
from vv_llm.settings import Settings

PROMPT = [{"role": "user", "content": "Reply with the single word OK."}]


@dataclass
class ConnectionResult:
    ok: bool
    message: str
    latency: float | None = None
    model: str | None = None


def check_endpoint(
    data: dict[str, Any], endpoint_id: str, backend: str, model: str | None = None, *, timeout: float = 20.0
) -> ConnectionResult:
    """Call ``model`` of ``backend`` (its default when None) through ``endpoint_id`` once, without retries.

    The settings in ``data`` are used as they are (unsaved edits included); the endpoint is
    attached to the backend when nothing uses it yet. Failures come back as the engine's typed error.
    """
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
        return ConnectionResult(False, f"{type(exc).__name__}: {exc}")
    said = (reply.content or "").strip().replace("\n", " ")
    return ConnectionResult(True, f"answered {said[:60]!r}" if said else "answered", latency, name)
