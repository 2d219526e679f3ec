"""A local LLM server for benchmarks that is not the bottleneck.

Every response is rendered to bytes once, at start-up; serving a request is parsing its head,
looking up those bytes and one ``transport.write``. The server runs in its own process
(``ServerProcess``) on a bare ``asyncio.Protocol``, and ``measure_capacity`` loads it from separate
raw-socket client processes to show how far it is from being the limit.

Routes (any method; the body decides stream or not, by ``"stream":true``):

- ``/{scenario}/.../chat/completions`` — OpenAI Chat Completions: a small JSON reply, or an SSE
  stream sent with chunked transfer encoding, one HTTP chunk per SSE event (as OpenAI does);
- ``/{scenario}/.../messages`` — Anthropic Messages: the same in Anthropic's wire format;
- ``GET /stats`` — ``{"cpu": seconds of CPU this process used, "requests": n}``.

``scenario`` is ``small`` (short stream), ``long`` (``--long-chunks`` events), ``delay``
(``--delay-chunks`` events, the whole response held back ``--delay`` seconds: a slow first token),
``bulk`` (the ``long`` stream written in 64 KiB HTTP chunks, events cut anywhere: little h11 work,
so the client's own cost per event shows) or ``burst`` (the ``delay`` stream in 64 KiB chunks,
at once: many concurrent streams keep the client's CPU busy).

Run alone: ``python -m benchmarks.server --port 8765``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import selectors
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SMALL_STREAM_CHUNKS = 20
MODEL_OPENAI = "gpt-4o-2024-08-06"
MODEL_ANTHROPIC = "claude-sonnet-4-5-20250929"


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _piece(i: int) -> str:
    return f" word{i % 97}"


# -- pre-rendered replies --------------------------------------------------------------------
def _json_response(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\nx-request-id: req_bench\r\n\r\n"
    return head.encode() + body


BULK_PIECE = 1 << 16


def _sse_response(events: list[bytes], piece: int = 0) -> bytes:
    """Chunked transfer encoding: one HTTP chunk per event, or with ``piece`` the whole stream in
    chunks of that many bytes (events cut anywhere), as a server writing its body in large pieces."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\ncache-control: no-cache\r\nx-request-id: req_bench\r\n\r\n"
    parts = [head]
    if piece:
        body = b"".join(events)
        events = [body[i : i + piece] for i in range(0, len(body), piece)]
    for event in events:
        parts.append(b"%x\r\n%b\r\n" % (len(event), event))
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


def openai_json() -> bytes:
    return _json_response(
        _dumps(
            {
                "id": "chatcmpl-bench0001",
                "object": "chat.completion",
                "created": 1730000000,
                "model": MODEL_OPENAI,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Hello! How can I help you today?", "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 12,
                    "completion_tokens": 9,
                    "total_tokens": 21,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
                },
                "system_fingerprint": "fp_bench",
            }
        )
    )


def openai_events(n: int) -> list[bytes]:
    """``n`` content chunks, plus role, finish and usage chunks and ``[DONE]`` (as OpenAI sends them)."""
    base = {"id": "chatcmpl-bench0002", "object": "chat.completion.chunk", "created": 1730000000, "model": MODEL_OPENAI}
    base["system_fingerprint"] = "fp_bench"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], "usage": None}
        return b"data: " + _dumps(data) + b"\n\n"

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": _piece(i)}) for i in range(n)]
    events.append(chunk({}, "stop"))
    usage = {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}
    events.append(b"data: " + _dumps({**base, "choices": [], "usage": usage}) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def anthropic_json() -> bytes:
    return _json_response(
        _dumps(
            {
                "id": "msg_bench0001",
                "type": "message",
                "role": "assistant",
                "model": MODEL_ANTHROPIC,
                "content": [{"type": "text", "text": "Hello! How can I help you today?"}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 9},
            }
        )
    )


def anthropic_events(n: int) -> list[bytes]:
    """An Anthropic Messages stream with ``n`` text deltas (and a ping, as the API sends)."""

    def event(name: str, data: dict[str, Any]) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + _dumps(data) + b"\n\n"

    message = {
        "id": "msg_bench0002",
        "type": "message",
        "role": "assistant",
        "model": MODEL_ANTHROPIC,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1},
    }
    events = [
        event("message_start", {"type": "message_start", "message": message}),
        event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        event("ping", {"type": "ping"}),
    ]
    events += [
        event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": _piece(i)}})
        for i in range(n)
    ]
    events += [
        event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        event(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": n}},
        ),
        event("message_stop", {"type": "message_stop"}),
    ]
    return events


@dataclass(frozen=True)
class Config:
    long_chunks: int = 5000
    delay_chunks: int = 100
    delay: float = 0.3


def render(config: Config) -> dict[tuple[str, str, bool], bytes]:
    """(scenario, protocol, stream) → the complete HTTP response."""
    counts = {
        "small": SMALL_STREAM_CHUNKS,
        "long": config.long_chunks,
        "delay": config.delay_chunks,
        "bulk": config.long_chunks,
        "burst": config.delay_chunks,
    }
    table: dict[tuple[str, str, bool], bytes] = {}
    for scenario, n in counts.items():
        piece = BULK_PIECE if scenario in ("bulk", "burst") else 0
        table[scenario, "openai", False] = openai_json()
        table[scenario, "openai", True] = _sse_response(openai_events(n), piece)
        table[scenario, "anthropic", False] = anthropic_json()
        table[scenario, "anthropic", True] = _sse_response(anthropic_events(n), piece)
    return table


_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 31\r\n\r\n" + b'{"error":{"message":"no route"}}'


# -- the server ------------------------------------------------------------------------------
class _Connection(asyncio.Protocol):
    __slots__ = ("_buffer", "_server", "_transport")

    def __init__(self, server: BenchServer):
        self._server = server
        self._buffer = b""
        self._transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            length = 0
            at = head.find(b"Content-Length:")
            if at < 0:
                at = head.lower().find(b"content-length:")
            if at > 0:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop > 0 else len(head)])
            total = end + 4 + length
            if len(buffer) < total:
                break
            self._server.respond(self._transport, head, buffer[end + 4 : total])
            buffer = buffer[total:]
        self._buffer = buffer

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


class BenchServer:
    def __init__(self, config: Config):
        self.config = config
        self.responses = render(config)
        self.requests = 0
        self.loop: asyncio.AbstractEventLoop | None = None

    def respond(self, transport: Any, head: bytes, body: bytes) -> None:
        self.requests += 1
        line = head[: head.find(b"\r\n")] if b"\r\n" in head else head
        path = line.split(b" ", 2)[1]
        scenario = path[1 : path.find(b"/", 1)].decode()
        protocol = "openai" if path.endswith(b"/chat/completions") else "anthropic" if path.endswith(b"/messages") else ""
        if path == b"/stats":
            stats = _dumps({"cpu": time.process_time(), "requests": self.requests, "pid": os.getpid()})
            transport.write(_json_response(stats))
            return
        stream = b'"stream":true' in body or b'"stream": true' in body
        response = self.responses.get((scenario, protocol, stream), _NOT_FOUND)
        if scenario == "delay" and self.loop is not None:
            # httpx does not pipeline, so a held-back response cannot overtake a later one.
            self.loop.call_later(self.config.delay, _write, transport, response)
        else:
            transport.write(response)

    async def serve(self, host: str, port: int, ready: Any = None) -> None:
        self.loop = asyncio.get_running_loop()
        server = await self.loop.create_server(lambda: _Connection(self), host, port, backlog=2048, reuse_address=True)
        sock = server.sockets[0]
        if ready is not None:
            ready(sock.getsockname()[1])
        async with server:
            await server.serve_forever()


def _write(transport: Any, data: bytes) -> None:
    if not transport.is_closing():
        transport.write(data)


# -- running it in its own process -----------------------------------------------------------
class ServerProcess:
    """``with ServerProcess(config) as server: server.base_url("long")``."""

    def __init__(self, config: Config | None = None, host: str = "127.0.0.1"):
        self.config = config or Config()
        self.host = host
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        c = self.config
        args = [sys.executable, "-m", "benchmarks.server", "--host", self.host, "--port", "0"]
        args += ["--long-chunks", str(c.long_chunks), "--delay-chunks", str(c.delay_chunks), "--delay", str(c.delay)]
        self._process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("PORT "):
            self.__exit__()
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def base_url(self, scenario: str) -> str:
        return f"http://{self.host}:{self.port}/{scenario}"

    def stats(self) -> dict[str, Any]:
        """The server's CPU seconds so far and requests served."""
        _head, body = raw_request(self.host, self.port, b"GET /stats HTTP/1.1\r\nhost: bench\r\n\r\n")
        return json.loads(body)


def raw_request(host: str, port: int, request: bytes) -> tuple[bytes, bytes]:
    """One request over a fresh socket → (head, body); understands content-length and chunked."""
    with socket.create_connection((host, port)) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        if b"transfer-encoding: chunked" in head.lower():
            while not rest.endswith(b"\r\n0\r\n\r\n"):
                rest += sock.recv(1 << 20)
            return head, rest
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += sock.recv(65536)
        return head, rest


def http_request(path: str, body: bytes) -> bytes:
    return f"POST {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body


# -- capacity --------------------------------------------------------------------------------
def _capacity_worker(host: str, port: int, request: bytes, expect: int, connections: int, start: float, seconds: float) -> int:
    """Keep ``connections`` keep-alive connections busy, one request in flight on each, from
    ``start`` for ``seconds``; → responses completed."""
    selector = selectors.DefaultSelector()
    socks = []
    for _ in range(connections):
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        socks.append(sock)
    while time.time() < start:
        time.sleep(0.001)
    received = dict.fromkeys(socks, 0)
    for sock in socks:
        sock.send(request)
        selector.register(sock, selectors.EVENT_READ)
    done = 0
    deadline = start + seconds
    while time.time() < deadline:
        for key, _ in selector.select(0.05):
            sock = key.fileobj  # type: ignore[assignment]
            n = len(sock.recv(1 << 20))  # type: ignore[union-attr]
            got = received[sock] + n
            if got >= expect:
                done += 1
                got -= expect
                sock.send(request)  # type: ignore[union-attr]
            received[sock] = got
    for sock in socks:
        sock.close()
    return done


def measure_capacity(
    host: str, port: int, path: str, body: bytes, *, processes: int = 2, connections: int = 8, seconds: float = 2.0
) -> float:
    """Responses per second the server completes for ``path``/``body``, loaded by ``processes``
    raw-socket client processes with ``connections`` connections each."""
    from concurrent.futures import ProcessPoolExecutor

    request = http_request(path, body)
    head, rest = raw_request(host, port, request)
    expect = len(head) + 4 + len(rest)
    with ProcessPoolExecutor(processes) as pool:
        start = time.time() + 1.0  # after every worker has connected
        futures = [pool.submit(_capacity_worker, host, port, request, expect, connections, start, seconds) for _ in range(processes)]
        done = sum(f.result() for f in futures)
    return done / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--long-chunks", type=int, default=Config.long_chunks)
    parser.add_argument("--delay-chunks", type=int, default=Config.delay_chunks)
    parser.add_argument("--delay", type=float, default=Config.delay)
    args = parser.parse_args(argv)
    server = BenchServer(Config(args.long_chunks, args.delay_chunks, args.delay))

    def ready(port: int) -> None:
        print(f"PORT {port}", flush=True)

    try:
        asyncio.run(server.serve(args.host, args.port, ready))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
