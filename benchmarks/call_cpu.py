"""Client CPU per non-stream call: ``python -m benchmarks.call_cpu [--async] [--calls N] [--profile]``.

A profiling aid, not part of ``benchmarks.run``. It starts the shared harness's Node fake server
(``shared/bench/fake_llm.js`` beside the checkout or above it, or ``--server PATH``) and, in this one process, interleaved over
many repeats, makes blocks of non-stream calls on the OpenAI and Anthropic wires by

- the raw floor, exactly as the harness's ``drivers/raw_http.py`` does: ``httpx.Client(headers=...,
  timeout=60, limits=...)``, ``client.post(url, json=body)``, ``r.json()``, one lookup;
- vv-llm, as ``drivers/vvllm.py`` does: ``create_chat_client(backend, model=...)``, then
  ``client.create_completion(messages=..., max_tokens=64).content``.

It reports the client process's CPU time per call (``time.process_time``, the minimum over the
repeats), the difference — vv-llm's own cost per call — also as the median of the differences
within each repeat (paired: steadier under load), and the ratio. CPU time spent in this
process holds up on a busy machine, where wall-clock latency does not. ``--async`` measures the
async faces (``httpx.AsyncClient`` / ``create_async_chat_client``, calls awaited one after another);
``--profile`` prints a cProfile of the vv-llm side. ``--in-process`` answers both sides with the
server's reply through ``httpx.MockTransport`` instead of a socket: what remains is the clients' own
CPU (httpx's request and response handling included), steadier than socket I/O on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if __package__ in (None, ""):
    sys.path.insert(0, ROOT)

import httpx  # noqa: E402

from vv_llm.chat_clients import create_async_chat_client, create_chat_client  # noqa: E402
from vv_llm.chat_clients.transport import shared_async_transport, shared_sync_transport  # noqa: E402
from vv_llm.settings import settings  # noqa: E402
from vv_llm.types.enums import BackendType  # noqa: E402


def find_server() -> str:
    """``shared/bench/fake_llm.js`` beside the checkout or any folder above it (worktrees sit deeper)."""
    folder = os.path.dirname(ROOT)
    while True:
        path = os.path.join(folder, "shared", "bench", "fake_llm.js")
        if os.path.exists(path) or os.path.dirname(folder) == folder:
            return path
        folder = os.path.dirname(folder)


API_KEY = "sk-bench-fake-key"
MAX_TOKENS = 64
MESSAGES = [{"role": "user", "content": "Say hello."}]
LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)


class Wire:
    """One wire's raw request (as ``drivers/raw_http.py`` builds it) and vv-llm's settings for it."""

    def __init__(self, title: str, backend: BackendType, settings_name: str, model: str, path: str, api_base: str):
        self.title, self.backend, self.settings_name, self.model = title, backend, settings_name, model
        self.path, self.api_base = path, api_base

    def headers(self) -> dict[str, str]:
        if self.backend is BackendType.Anthropic:
            return {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
        return {"authorization": "Bearer " + API_KEY}

    def body(self) -> dict[str, Any]:
        return {"model": self.model, "messages": MESSAGES, "max_tokens": MAX_TOKENS}

    def text_of(self, obj: dict[str, Any]) -> str:
        if self.backend is BackendType.Anthropic:
            return "".join(block["text"] for block in obj["content"] if block["type"] == "text")
        return obj["choices"][0]["message"]["content"]  # type: ignore[no-any-return]

    def load_settings(self, root: str) -> None:
        settings.load(
            {
                "VERSION": "2",
                "endpoints": [{"id": "bench-fake", "api_base": root + self.api_base, "api_key": API_KEY}],
                "backends": {self.settings_name: {"models": {self.model: {"id": self.model, "endpoints": ["bench-fake"]}}}},
            }
        )


WIRES = [
    Wire("OpenAI", BackendType.OpenAI, "openai", "gpt-4o-mini", "/v1/chat/completions", "/v1"),
    Wire("Anthropic", BackendType.Anthropic, "anthropic", "claude-haiku-4-5", "/v1/messages", ""),
]


def start_server(path: str) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(["node", path, "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline().split()
    if len(line) != 2 or line[0] != "LISTENING":
        server.kill()
        raise SystemExit(f"the fake server did not start: {line}")
    return server, f"http://127.0.0.1:{line[1]}"


def in_process(wire: Wire, root: str) -> httpx.MockTransport:
    """An httpx transport that answers every request with the fake server's reply, read once."""
    reply = httpx.post(root + wire.path, json=wire.body(), headers=wire.headers())
    reply.raise_for_status()
    headers, body = {"content-type": reply.headers["content-type"]}, reply.content
    return httpx.MockTransport(lambda request: httpx.Response(200, headers=headers, content=body))


def sync_sides(wire: Wire, root: str, mock: httpx.MockTransport | None) -> tuple[dict[str, Callable[[], str]], Callable[[], None]]:
    raw = httpx.Client(headers=wire.headers(), timeout=60.0, limits=LIMITS, transport=mock)
    url = root + wire.path
    if mock is not None:  # vv-llm's own pooled client for no proxy, on the same transport (a profiling aid may reach in)
        shared_sync_transport()._own[None] = httpx.Client(limits=LIMITS, timeout=None, transport=mock)

    def raw_call() -> str:
        r = raw.post(url, json=wire.body())
        r.raise_for_status()
        return wire.text_of(r.json())

    client = create_chat_client(wire.backend, model=wire.model)

    def vv_call() -> str:
        return client.create_completion(messages=MESSAGES, max_tokens=MAX_TOKENS).content or ""

    return {"raw": raw_call, "vv": vv_call}, raw.close


def async_sides(
    wire: Wire, root: str, mock: httpx.MockTransport | None
) -> tuple[dict[str, Callable[[], Awaitable[str]]], Callable[[], Awaitable[None]]]:
    raw = httpx.AsyncClient(headers=wire.headers(), timeout=60.0, limits=LIMITS, transport=mock)
    url = root + wire.path
    if mock is not None:
        shared_async_transport()._per_loop[asyncio.get_running_loop()] = {
            None: httpx.AsyncClient(limits=LIMITS, timeout=None, transport=mock)
        }

    async def raw_call() -> str:
        r = await raw.post(url, json=wire.body())
        r.raise_for_status()
        return wire.text_of(r.json())

    client = create_async_chat_client(wire.backend, model=wire.model)

    async def vv_call() -> str:
        return (await client.create_completion(messages=MESSAGES, max_tokens=MAX_TOKENS)).content or ""

    return {"raw": raw_call, "vv": vv_call}, raw.aclose


def summary(samples: dict[str, list[float]]) -> dict[str, float]:
    """Each side's minimum CPU seconds per call, and the median of the per-repeat differences
    (``own``: paired, so drift in machine load that hits both sides of a repeat cancels)."""
    best = {side: min(values) for side, values in samples.items()}
    best["own"] = statistics.median(vv - raw for vv, raw in zip(samples["vv"], samples["raw"], strict=True))
    return best


def measure_sync(wire: Wire, root: str, args: argparse.Namespace) -> dict[str, float]:
    calls, close = sync_sides(wire, root, in_process(wire, root) if args.in_process else None)
    texts = {side: call() for side, call in calls.items()}
    if texts["raw"] != texts["vv"] or not texts["raw"]:
        raise SystemExit(f"{wire.title}: replies differ: {texts}")

    def block(side: str) -> float:
        call = calls[side]
        start = time.process_time()
        for _ in range(args.calls):
            call()
        return time.process_time() - start

    for side in calls:  # warm the pools and caches
        block(side)
    samples: dict[str, list[float]] = {side: [] for side in calls}
    sides = list(calls)
    for i in range(args.repeats):
        for side in sides if i % 2 == 0 else sides[::-1]:  # the side that goes first alternates
            samples[side].append(block(side) / args.calls)
    if args.profile:
        profile(lambda: block("vv"))
    close()
    return summary(samples)


def measure_async(wire: Wire, root: str, args: argparse.Namespace) -> dict[str, float]:
    async def main() -> dict[str, float]:
        calls, close = async_sides(wire, root, in_process(wire, root) if args.in_process else None)
        texts = {side: await call() for side, call in calls.items()}
        if texts["raw"] != texts["vv"] or not texts["raw"]:
            raise SystemExit(f"{wire.title}: replies differ: {texts}")

        async def block(side: str) -> float:
            call = calls[side]
            start = time.process_time()
            for _ in range(args.calls):
                await call()
            return time.process_time() - start

        for side in calls:
            await block(side)
        samples: dict[str, list[float]] = {side: [] for side in calls}
        sides = list(calls)
        for i in range(args.repeats):
            for side in sides if i % 2 == 0 else sides[::-1]:
                samples[side].append(await block(side) / args.calls)
        if args.profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
            await block("vv")
            prof.disable()
            print_profile(prof)
        await close()
        return summary(samples)

    return asyncio.run(main())


def profile(fn: Callable[[], Any]) -> None:
    import cProfile

    prof = cProfile.Profile()
    prof.runcall(fn)
    print_profile(prof)


def print_profile(prof: Any) -> None:
    import pstats

    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats("vv_llm", 40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100, help="calls per timed block (default 100)")
    parser.add_argument("--repeats", type=int, default=40, help="interleaved blocks per side (default 40)")
    parser.add_argument("--async", dest="use_async", action="store_true", help="the async faces")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the vv-llm side")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="answer both sides in-process (httpx.MockTransport with the server's reply): no sockets, steadier on a busy machine",
    )
    parser.add_argument("--wire", choices=[w.title.lower() for w in WIRES], help="one wire only")
    parser.add_argument("--server", default=None, help="fake_llm.js to run (default: the shared harness's)")
    args = parser.parse_args()
    server, root = start_server(args.server or find_server())
    face = ("async" if args.use_async else "sync") + (", in-process" if args.in_process else "")
    try:
        print(
            f"| wire ({face}) | raw httpx CPU µs/call | vv-llm CPU µs/call | vv-llm's own µs/call (min − min) | paired median | vv-llm ÷ raw |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for wire in WIRES:
            if args.wire and wire.title.lower() != args.wire:
                continue
            wire.load_settings(root)
            best = measure_async(wire, root, args) if args.use_async else measure_sync(wire, root, args)
            raw_us, vv_us, own_us = best["raw"] * 1e6, best["vv"] * 1e6, best["own"] * 1e6
            print(
                f"| {wire.title} | {raw_us:.0f} | {vv_us:.0f} | {vv_us - raw_us:.0f} | {own_us:.0f} | {vv_us / raw_us:.2f}× |", flush=True
            )
    finally:
        settings.reset()
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
