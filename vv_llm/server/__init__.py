"""Token-counting HTTP service (``pip install 'vv-llm[server]'``).

``vv-llm-token-server --port 8000`` (or ``python -m vv_llm.server``) serves :func:`create_app`:
``POST /v1/tokens/text``, ``POST /v1/tokens/messages``, ``GET /v1/tokenizer``, ``GET /health``;
the OpenAPI schema is at ``/openapi.json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vv_llm.server.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from vv_llm.server.app import create_app

        return create_app
    raise AttributeError(f"module 'vv_llm.server' has no attribute {name!r}")
