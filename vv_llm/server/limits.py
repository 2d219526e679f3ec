"""The token server's request-size limit: a pure ASGI middleware answering ``413`` with a JSON
message before a large body is read (by ``Content-Length``) or as soon as a streamed one passes it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""4 MiB: about a million tokens of text, or a prompt with a few images as data URLs."""


def too_large_detail(limit: int) -> list[dict[str, Any]]:
    """The 413 answer's ``detail``, shaped like the server's 422s."""
    message = f"the request body is larger than the server's limit of {limit} bytes (token_server.max_body_bytes)"
    return [{"loc": ["body"], "msg": message, "type": "body_too_large"}]


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes (a number, or a function giving the current
    one) with ``413 Payload Too Large``."""

    def __init__(self, app: Any, limit: int | Callable[[], int]):
        self.app = app
        self._limit = limit

    @property
    def limit(self) -> int:
        return self._limit if isinstance(self._limit, int) else self._limit()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        declared = next((value for name, value in scope.get("headers") or () if name == b"content-length"), None)
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:  # the app did not answer it itself
            if not started:
                await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Any, limit: int) -> None:
        body = json.dumps({"detail": too_large_detail(limit)}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """Raised while a streamed body is read, once it passes the limit (FastAPI answers it as 413)."""

    def __init__(self, limit: int):
        super().__init__(413, too_large_detail(limit))  # type: ignore[arg-type]  # FastAPI accepts any JSON detail
