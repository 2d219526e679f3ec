"""The interface each fake wire protocol implements, and the registry the server routes by."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vv_llm.testing.script import Reply, RequestInfo


@dataclass
class RecordedRequest:
    """A request as the fake server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased header names."""
    body: bytes
    protocol: str = ""

    @property
    def json(self) -> Any:
        return json_loads(self.body)


def json_loads(body: bytes) -> Any:
    import json

    return json.loads(body) if body else None


@dataclass
class Rendered:
    """A full response, or the head of a streamed one (``pieces`` then carries the body)."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    pieces: Iterator[tuple[str, bytes]] | None = None
    """Streamed body: ``(kind, bytes)`` where kind is ``content`` for pieces that count as
    output chunks (faults are placed after N of them), else ``meta``."""
    extra: dict[str, Any] = field(default_factory=dict)


class WireProtocol:
    """Speak one provider's HTTP protocol."""

    name = "base"

    def matches(self, method: str, path: str) -> bool:
        raise NotImplementedError

    def parse(self, request: RecordedRequest) -> RequestInfo:
        raise NotImplementedError

    def request_info(self, model: str, stream: bool, texts: list[str], last_user: str, **details: Any) -> RequestInfo:
        """What ``parse`` read from a request whose prompt reads ``texts`` (empty ones left out)."""
        prompt_text = "\n".join(t for t in texts if t)
        return RequestInfo(protocol=self.name, model=model, stream=stream, messages_text=prompt_text, last_user_text=last_user, **details)

    def check_auth(self, request: RecordedRequest, keys: set[str]) -> bool:
        return True

    def answer(self, request: RecordedRequest) -> Rendered | None:
        """A response given without using a scripted reply (e.g. an OAuth token endpoint, or a
        refused bearer token); None to go on as usual."""
        return None

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        raise NotImplementedError

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        raise NotImplementedError

    def keepalive_piece(self) -> bytes:
        """Bytes a stream may carry to keep a quiet connection open (an SSE comment)."""
        return b": keep-alive\n\n"

    def malformed_piece(self) -> bytes:
        return b"data: {this is not json\n\n"

    def stream_error_piece(self, message: str) -> bytes:
        raise NotImplementedError


_REGISTRY: list[WireProtocol] = []


def protocols() -> list[WireProtocol]:
    """Every protocol the server speaks: each module of :mod:`vv_llm.testing.wires` lists its own
    in ``PROTOCOLS`` (imported on first use; their routes do not overlap)."""
    if not _REGISTRY:
        from importlib import import_module

        from vv_llm.testing.wires import WIRE_MODULES

        for name in WIRE_MODULES:
            _REGISTRY.extend(import_module(f"vv_llm.testing.wires.{name}").PROTOCOLS)
    return _REGISTRY
