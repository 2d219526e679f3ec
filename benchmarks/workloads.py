"""What is measured: the same calls made through vv-llm and through raw httpx, per wire protocol.

The raw side is what a careful hand-written client does and nothing more: post the JSON, check
the status, ``json.loads`` the body (or each SSE ``data:`` line of a stream).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks import server as bench_server

MESSAGES = [{"role": "user", "content": "Say hello."}]
# The pool vv-llm's transport uses; the raw clients get the same, so neither is capped differently.
LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30)


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Protocol:
    """One wire protocol as both sides speak it."""

    title: str
    backend: str
    """BackendType value."""
    model: str
    """Model name in settings (a catalogue model, so the normal per-call path runs)."""
    settings_suffix: str
    """Appended to the server's scenario URL to make the endpoint's api_base."""
    raw_path: str
    """Appended to the scenario URL by the raw client."""
    headers: dict[str, str]
    body: dict[str, Any]
    stream_extra: dict[str, Any] = field(default_factory=dict)
    adapter_module: str = "vv_llm.chat_clients.adapters.openai_compatible"

    def payload(self, stream: bool) -> bytes:
        body = {**self.body, "messages": MESSAGES}
        if stream:
            body.update(self.stream_extra)
        return _dumps(body)

    def stream_headers(self) -> dict[str, str]:
        return {**self.headers, "accept": "text/event-stream"}

    def events(self, n: int) -> int:
        """SSE data events in a stream of ``n`` content deltas (what both sides decode)."""
        if self.backend == "openai":
            return len(bench_server.openai_events(n)) - 1  # [DONE] is not JSON
        return len(bench_server.anthropic_events(n))


OPENAI = Protocol(
    title="OpenAI",
    backend="openai",
    model="gpt-4o",
    settings_suffix="/v1",
    raw_path="/v1/chat/completions",
    headers={"content-type": "application/json", "accept": "application/json", "authorization": "Bearer sk-bench"},
    body={"model": "gpt-4o"},
    stream_extra={"stream": True, "stream_options": {"include_usage": True}},
)
ANTHROPIC = Protocol(
    title="Anthropic",
    backend="anthropic",
    model="claude-sonnet-4-5",
    settings_suffix="",
    raw_path="/v1/messages",
    headers={
        "content-type": "application/json",
        "accept": "application/json",
        "x-api-key": "sk-ant-bench",
        "anthropic-version": "2023-06-01",
    },
    body={"model": "claude-sonnet-4-5", "max_tokens": 1024},
    stream_extra={"stream": True},
    adapter_module="vv_llm.chat_clients.adapters.anthropic",
)
PROTOCOLS = (OPENAI, ANTHROPIC)
SCENARIOS = ("small", "long", "delay", "bulk", "burst")


def endpoint_id(protocol: Protocol, scenario: str) -> str:
    return f"bench-{protocol.backend}-{scenario}"


def bench_settings(server: bench_server.ServerProcess) -> dict[str, Any]:
    """Settings with one endpoint per (protocol, scenario); clients pin theirs with ``endpoint_id``."""
    endpoints = []
    backends: dict[str, Any] = {}
    for protocol in PROTOCOLS:
        key = "sk-bench" if protocol is OPENAI else "sk-ant-bench"
        ids = []
        for scenario in SCENARIOS:
            ids.append(endpoint_id(protocol, scenario))
            endpoints.append({"id": ids[-1], "api_base": server.base_url(scenario) + protocol.settings_suffix, "api_key": key})
        backends[protocol.backend] = {"models": {protocol.model: {"endpoints": ids}}}
    return {"VERSION": "2", "endpoints": endpoints, "backends": backends}


# -- sync: one call, one stream --------------------------------------------------------------
def raw_call(client: httpx.Client, url: str, protocol: Protocol) -> Callable[[], Any]:
    headers = protocol.headers

    def call() -> Any:
        response = client.post(url, content=protocol.payload(False), headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}")
        return json.loads(response.content)

    return call


def vv_call(client: Any) -> Callable[[], Any]:
    create = client.create_completion

    def call() -> Any:
        return create(MESSAGES)

    return call


def raw_stream(client: httpx.Client, url: str, protocol: Protocol) -> Callable[[], int]:
    headers = protocol.stream_headers()
    loads = json.loads

    def consume() -> int:
        count = 0
        with client.stream("POST", url, content=protocol.payload(True), headers=headers) as response:
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            for line in response.iter_lines():
                if line.startswith("data:"):
                    data = line[5:].strip()
                    if data != "[DONE]":
                        loads(data)
                        count += 1
        return count

    return consume


def vv_stream(client: Any) -> Callable[[], int]:
    def consume() -> int:
        count = 0
        for _delta in client.create_stream(MESSAGES):
            count += 1
        return count

    return consume


# -- async: many streams at once -------------------------------------------------------------
def raw_async_streams(client: httpx.AsyncClient, url: str, protocol: Protocol, n: int) -> Callable[[], Any]:
    headers = protocol.stream_headers()
    loads = json.loads

    async def one() -> int:
        count = 0
        async with client.stream("POST", url, content=protocol.payload(True), headers=headers) as response:
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    data = line[5:].strip()
                    if data != "[DONE]":
                        loads(data)
                        count += 1
        return count

    async def run() -> int:
        return sum(await asyncio.gather(*(one() for _ in range(n))))

    return run


def vv_async_streams(client: Any, n: int) -> Callable[[], Any]:
    async def one() -> int:
        count = 0
        async for _delta in client.create_stream(MESSAGES):
            count += 1
        return count

    async def run() -> int:
        return sum(await asyncio.gather(*(one() for _ in range(n))))

    return run


# -- interleaved measurement -----------------------------------------------------------------
def interleaved_calls(sides: dict[str, Callable[[], Any]], calls: int, block: int = 100, warmup: int = 50) -> dict[str, list[float]]:
    """Per-call latencies (seconds), ``calls`` per side, in alternating blocks of ``block``."""
    for fn in sides.values():
        for _ in range(warmup):
            fn()
    latencies: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides.items())
    clock = time.perf_counter
    for round_ in range(max(1, calls // block)):
        for name, fn in order if round_ % 2 == 0 else order[::-1]:
            out = latencies[name]
            for _ in range(block):
                start = clock()
                fn()
                out.append(clock() - start)
    return latencies


Samples = dict[str, list[float]]


def interleaved_runs(sides: dict[str, Callable[[], Any]], rounds: int, warmup: int = 2) -> tuple[Samples, Samples]:
    """(wall seconds, this process's CPU seconds) of each run, ``rounds`` per side, alternating
    which side goes first. CPU time barely moves when other processes compete for the cores."""
    for fn in sides.values():
        for _ in range(warmup):
            fn()
    wall: Samples = {name: [] for name in sides}
    cpu: Samples = {name: [] for name in sides}
    order = list(sides.items())
    clock, cpu_clock = time.perf_counter, time.process_time
    for round_ in range(rounds):
        for name, fn in order if round_ % 2 == 0 else order[::-1]:
            start, start_cpu = clock(), cpu_clock()
            fn()
            wall[name].append(clock() - start)
            cpu[name].append(cpu_clock() - start_cpu)
    return wall, cpu


async def interleaved_async_runs(sides: dict[str, Callable[[], Any]], rounds: int, warmup: int = 1) -> tuple[Samples, Samples]:
    """Like :func:`interleaved_runs`, awaiting each run."""
    for fn in sides.values():
        for _ in range(warmup):
            await fn()
    wall: Samples = {name: [] for name in sides}
    cpu: Samples = {name: [] for name in sides}
    order = list(sides.items())
    clock, cpu_clock = time.perf_counter, time.process_time
    for round_ in range(rounds):
        for name, fn in order if round_ % 2 == 0 else order[::-1]:
            start, start_cpu = clock(), cpu_clock()
            await fn()
            wall[name].append(clock() - start)
            cpu[name].append(cpu_clock() - start_cpu)
    return wall, cpu
