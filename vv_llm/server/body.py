"""Request bodies read with as few copies as possible: the token server's peak memory per request.

Starlette reads a body as a list of chunks joined into one ``bytes`` (two copies at once), and
``json.loads`` of bytes decodes them into a ``str`` of the whole document before parsing it, all
while the bytes are still held by the request: a large text is in memory four times when it
reaches the counter (more for non-Latin text, whose ``str`` takes 2 bytes a character for every
character once one of them is outside Latin-1). Here the body grows in one ``bytearray``, is
decoded as ``json.loads`` decodes it, and is released before the document is parsed, so the
document and the parsed text are the only two copies alive at once. Parsing stays ``json.loads``:
same errors, same lone-surrogate escapes, same limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


class LeanBodyRequest(Request):
    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            # Allocated once at the declared size (BodySizeLimit has refused one over the limit):
            # growing a buffer chunk by chunk copies it, and leaves the old ones as holes in the heap.
            declared = self.headers.get("content-length", "").strip()
            buffer = bytearray(int(declared) if declared.isdigit() else 0)
            filled = 0
            async for chunk in self.stream():
                buffer[filled : filled + len(chunk)] = chunk  # in place; grows only past the declared size
                filled += len(chunk)
            del buffer[filled:]  # a body shorter than declared
            # A JSON body is parsed (and then released, see json); any other is validated as it is,
            # and shown in the 422 answer, which needs real bytes.
            self._body = buffer if self._json_content() else bytes(buffer)  # type: ignore[assignment]
        return self._body

    def _json_content(self) -> bool:
        """The content type FastAPI parses as JSON (``application/json`` or ``application/...+json``)."""
        kind = self.headers.get("content-type", "").partition(";")[0].strip().lower()
        return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            document = body.decode(json.detect_encoding(body), "surrogatepass")  # as json.loads decodes bytes
            if isinstance(body, bytearray):
                body.clear()  # not read again: freed before the parse makes its copy of the text
            self._json = json.loads(document)
        return self._json


class LeanBodyRoute(APIRoute):
    """An ``APIRoute`` whose handler reads the body through :class:`LeanBodyRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def lean(request: Request) -> Response:
            return await handler(LeanBodyRequest(request.scope, request.receive))

        return lean
