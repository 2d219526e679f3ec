"""A fake LLM provider on loopback: real sockets, real HTTP/1.1, each provider's wire protocol.

    with FakeLLMServer() as server:
        server.enqueue(Reply(content="hi"), Reply.error(500))
        ... point an endpoint's api_base at server.url("/v1") ...
        server.requests[-1].json   # what the client sent

It runs its own event loop in a daemon thread, so sync and async clients (and several processes'
worth of concurrent streams) can use it alike.
"""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from vv_llm.testing.protocol import RecordedRequest, Rendered, WireProtocol, protocols
from vv_llm.testing.script import Reply, RequestInfo, echo_responder
from vv_llm.testing.wires._common import bearer_token

Responder = Callable[[RequestInfo], Reply]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    529: "Overloaded",
}


def unused_port() -> int:
    """A loopback port nothing listens on (for connection-refused tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeLLMServer:
    """Fake provider server. ``enqueue`` scripts the next replies; otherwise ``responder`` answers."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        responder: Responder | None = None,
        api_keys: set[str] | None = None,
        models: list[str] | None = None,
        max_recorded: int | None = None,
    ):
        self.host = host
        self.port = port
        self.responder: Responder = responder or echo_responder
        self.api_keys = api_keys
        """When set, requests must authenticate with one of these keys (else 401)."""
        self.models = list(models or [])
        """Listed by ``GET …/models`` (OpenAI's shape); any other name is answered too."""
        self.max_recorded = max_recorded
        """Keep only the latest this many requests in ``requests`` (None: every one, for tests;
        a long-running server, such as the playground's demo backend, keeps a bounded window)."""
        self.requests: list[RecordedRequest] = []
        self._queue: collections.deque[Reply] = collections.deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeLLMServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._handle, self.host, self.port, backlog=1024))
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # pragma: no cover - reported to start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            # Handlers still mid-reply (slow bytes, held streams) end here, not as "Task was
            # destroyed but it is pending" at interpreter exit.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="vv-llm-fake-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current:
                    task.cancel()
            await self._server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=5)
        except Exception:  # pragma: no cover
            pass
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- scripting -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "") -> str:
        return self.base_url + path

    def enqueue(self, *replies: Reply) -> None:
        """The next requests get these replies, in order."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        """Forget queued replies and recorded requests."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    @property
    def last_request(self) -> RecordedRequest:
        return self.requests[-1]

    def _next_reply(self, info: RequestInfo) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.responder(info)

    # -- HTTP ----------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                keep_open = await self._respond(request, writer)
                if not keep_open:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        except asyncio.CancelledError:
            return  # stop(): ending quietly (3.11's stream callback would log a cancelled handler)
        finally:
            self._writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(data[:-2])
            body = b"".join(parts)
        elif headers.get("content-length"):
            body = await reader.readexactly(int(headers["content-length"]))
        split = urlsplit(target)
        return RecordedRequest(method, split.path, dict(parse_qsl(split.query)), headers, body)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            if self.max_recorded is not None and len(self.requests) > self.max_recorded:
                del self.requests[: len(self.requests) - self.max_recorded]

    def _models_page(self, request: RecordedRequest) -> Rendered:
        """``GET /v1/models`` as OpenAI answers it (401 without an accepted key when keys are set)."""
        key = bearer_token(request)
        if key is None:
            key = request.headers.get("x-api-key", "")
        if self.api_keys is not None and key not in self.api_keys:
            body = {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}}
            return Rendered(401, {"content-type": "application/json"}, json.dumps(body).encode())
        data = [{"id": name, "object": "model", "created": 1700000000, "owned_by": "vv-llm-testing"} for name in self.models]
        return Rendered(200, {"content-type": "application/json"}, json.dumps({"object": "list", "data": data}).encode())

    async def _respond(self, request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        protocol = next((p for p in protocols() if p.matches(request.method, request.path)), None)
        if protocol is None and request.method == "GET" and request.path.rstrip("/").endswith("/models"):
            self._record(request)
            await self._write_full(writer, self._models_page(request))
            return True
        if protocol is None:
            self._record(request)
            await self._write_full(
                writer,
                Rendered(
                    404,
                    {"content-type": "application/json"},
                    json.dumps({"error": {"message": f"no route for {request.method} {request.path}"}}).encode(),
                ),
            )
            return True
        request.protocol = protocol.name
        self._record(request)
        direct = protocol.answer(request)
        if direct is not None:  # token endpoints, bearer-token refusals: no scripted reply is used
            await self._write_full(writer, direct)
            return True
        if self.api_keys is not None and not protocol.check_auth(request, self.api_keys):
            await self._write_full(writer, protocol.render_error(401, "Incorrect API key provided.", None, request, {}))
            return True
        try:
            info = protocol.parse(request)
        except (ValueError, KeyError, TypeError) as exc:
            await self._write_full(writer, protocol.render_error(400, str(exc), None, request, {}))
            return True
        reply = self._next_reply(info)
        if reply.close_before_response:
            self._reset(writer)
            return False
        if reply.first_byte_delay:
            await asyncio.sleep(reply.first_byte_delay)
        if reply.raw_body is not None:
            await self._write_full(
                writer, Rendered(reply.status, {"content-type": reply.raw_content_type, **reply.headers}, reply.raw_body)
            )
            return True
        if reply.is_error:
            await self._write_full(
                writer, protocol.render_error(reply.status, reply.error_message or "error", reply.error_type, request, reply.headers)
            )
            return True
        rendered = protocol.render(reply, info, request)
        if rendered.pieces is None:
            if reply.keepalive_count:
                return await self._write_slowly(writer, rendered, reply)
            await self._write_full(writer, rendered)
            return True
        return await self._write_stream(writer, rendered, reply, protocol)

    @staticmethod
    def _head(status: int, headers: dict[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _write_full(self, writer: asyncio.StreamWriter, rendered: Rendered) -> None:
        headers = {**rendered.headers, "content-length": str(len(rendered.body)), "connection": "keep-alive"}
        writer.write(self._head(rendered.status, headers) + rendered.body)
        await writer.drain()

    async def _write_slowly(self, writer: asyncio.StreamWriter, rendered: Rendered, reply: Reply) -> bool:
        """A plain answer held open by whitespace before its JSON (chunked, as a proxy streams it)."""
        headers = {**rendered.headers, "transfer-encoding": "chunked", "connection": "keep-alive"}
        writer.write(self._head(rendered.status, headers))
        for _ in range(reply.keepalive_count):
            writer.write(b"1\r\n \r\n")
            await writer.drain()
            await asyncio.sleep(reply.keepalive_every)
        writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(rendered.body), rendered.body))
        await writer.drain()
        return True

    async def _write_stream(self, writer: asyncio.StreamWriter, rendered: Rendered, reply: Reply, protocol: WireProtocol) -> bool:
        headers = {**rendered.headers, "transfer-encoding": "chunked", "connection": "keep-alive", "cache-control": "no-cache"}
        writer.write(self._head(rendered.status, headers))
        sent = 0
        assert rendered.pieces is not None
        pieces: Iterable[tuple[str, bytes]] = rendered.pieces
        if reply.end_stream_early:
            pieces = list(pieces)[:-1]  # every protocol's last piece is its end marker
        for kind, piece in pieces:
            if kind == "content" and reply.keepalive_count and sent == reply.keepalive_after_chunks:
                alive = protocol.keepalive_piece()
                for _ in range(reply.keepalive_count):
                    writer.write(b"%x\r\n%s\r\n" % (len(alive), alive))
                    await writer.drain()
                    await asyncio.sleep(reply.keepalive_every)
            if kind == "content":
                if reply.reset_after_chunks is not None and sent >= reply.reset_after_chunks:
                    await writer.drain()
                    self._reset(writer)
                    return False
                if reply.malformed_after_chunks is not None and sent == reply.malformed_after_chunks:
                    bad = protocol.malformed_piece()
                    writer.write(b"%x\r\n%s\r\n" % (len(bad), bad))
                if reply.stream_error_after_chunks is not None and sent == reply.stream_error_after_chunks:
                    bad = protocol.stream_error_piece(reply.error_message or "Overloaded")
                    writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(bad), bad))
                    await writer.drain()
                    return True
                sent += 1
                if reply.chunk_delay:
                    await writer.drain()
                    await asyncio.sleep(reply.chunk_delay)
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        """Abort with a TCP RST, as a crashed upstream or a dropped proxy does."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:  # pragma: no cover
                pass
        writer.transport.abort()
