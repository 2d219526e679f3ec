"""Request bodies read with as few copies as possible: the token server's peak memory per request.

Starlette reads a body as a list of chunks joined into one ``bytes`` (two copies at once), and
``json.loads`` of bytes decodes them into a ``str`` of the whole document before parsing it, all
while the bytes are still held by the request: a large text is in memory four times when it
reaches the counter (more for non-Latin text, whose ``str`` takes 2 bytes a character for every
character once one of them is outside Latin-1). Here the body grows in one ``bytearray``, is
decoded as ``json.loads`` decodes it, and is released before the document is parsed, so the
document and the parsed text are the only two copies alive at once. Parsing stays ``json.loads``:
same errors, same lone-surrogate escapes, same limits.

A route whose endpoint is marked with :func:`text_in_pieces` goes further: its longest text,
where the route allows one, stays in the body's buffer and is decoded a piece at a time
(``json_text``), so no copy of that text as one ``str`` (up to 4 bytes a character) is ever made.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from vv_llm.server.json_text import Path, materialized, parse_with_text

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_TEXT_FIELD = "__vv_llm_text_in_pieces__"


def text_in_pieces(*paths: Path) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint whose JSON body's longest string, when long and at one of ``paths`` (keys,
    and ``int`` for any list index), reaches it as a :class:`~vv_llm.server.json_text.JsonText`
    (the field's validator must let one through)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _TEXT_FIELD, paths)
        return endpoint

    return mark


class LeanBodyRequest(Request):
    text_paths: tuple[Path, ...] = ()
    """Where a long string is kept in the body's buffer (see :func:`text_in_pieces`)."""

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
            if self.text_paths and isinstance(body, bytearray):
                found = parse_with_text(body, self.text_paths)
                if found is not None:
                    self._json = found
                    return found
            document = body.decode(json.detect_encoding(body), "surrogatepass")  # as json.loads decodes bytes
            if isinstance(body, bytearray):
                body.clear()  # not read again: freed before the parse makes its copy of the text
            self._json = json.loads(document)
        return self._json


class LeanBodyRoute(APIRoute):
    """An ``APIRoute`` whose handler reads the body through :class:`LeanBodyRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        text_paths: tuple[Path, ...] = getattr(self.endpoint, _TEXT_FIELD, ())

        async def lean(request: Request) -> Response:
            lean_request = LeanBodyRequest(request.scope, request.receive)
            lean_request.text_paths = text_paths
            try:
                return await handler(lean_request)
            except RequestValidationError as exc:
                if text_paths:
                    # Answered with the text as it was sent, as for a body parsed whole.
                    for error in exc.errors():
                        if isinstance(error, dict) and "input" in error:
                            error["input"] = materialized(error["input"])
                    exc.body = materialized(exc.body)
                raise

        return lean
