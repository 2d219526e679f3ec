"""Client CPU per streamed chunk without sockets: ``python -m benchmarks.decode_cpu [--chunks N]``.

A profiling aid, not part of ``benchmarks.run``: the same 3000-chunk bodies the shared harness's
fake server sends (OpenAI and Anthropic wires), cut in 64 KiB reads (``64k``) or one read per SSE
event (``event``, as ``benchmarks.server`` frames them: one HTTP chunk per event), decoded
in-process, sync and async (an async generator of reads, as ``aiter_raw`` hands them over), by

- the raw floor: httpx's own text and line decoders, ``json.loads`` per ``data:`` line, one lookup;
- vv-llm: the adapter's stream decoder (which adds up what it hands out) and one generator layer, as
  ``create_stream`` runs them per read.

``--reads 64k|event`` and ``--mode sync|async`` pick a subset (default: all four).

With no network in the way the ratio shows the client's own per-chunk cost; it is the minimum
over many interleaved runs, so it holds on a busy machine better than wall-clock figures do.
``--profile`` prints a cProfile of the vv-llm side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if __package__ in (None, ""):
    sys.path.insert(0, ROOT)

from httpx._decoders import LineDecoder, TextDecoder  # noqa: E402

from vv_llm.chat_clients.adapters import adapter_for  # noqa: E402
from vv_llm.settings import settings  # noqa: E402
from vv_llm.types.enums import BackendType  # noqa: E402

READ = 1 << 16
WORDS = ["Hello", ",", " world", "!", " The", " quick", " brown", " fox"]


def _json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def openai_body(n: int) -> bytes:
    head = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1764000000,
        "model": "gpt-4o-mini",
        "service_tier": "default",
        "system_fingerprint": "fp_fake0001",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return _json({**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": WORDS[i % len(WORDS)]}) for i in range(n)]
    events.append(chunk({}, "stop"))
    events.append(_json({**head, "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": n, "total_tokens": n + 20}}))
    return "".join(f"data: {e}\n\n" for e in [*events, "[DONE]"]).encode()


def anthropic_body(n: int) -> bytes:
    def event(kind: str, data: dict[str, Any]) -> str:
        return f"event: {kind}\ndata: {_json({'type': kind, **data})}\n\n"

    usage = {"input_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}
    parts = [
        event(
            "message_start",
            {"message": {"id": "msg_fake", "type": "message", "role": "assistant", "model": "claude", "content": [], "usage": usage}},
        ),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        event("ping", {}),
    ]
    parts += [event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": WORDS[i % len(WORDS)]}}) for i in range(n)]
    parts += [
        event("content_block_stop", {"index": 0}),
        event("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": n}}),
        event("message_stop", {}),
    ]
    return "".join(parts).encode()


def openai_piece(obj: dict[str, Any]) -> str | None:
    choices = obj["choices"]
    return choices[0]["delta"].get("content") if choices else None


def anthropic_piece(obj: dict[str, Any]) -> str | None:
    if obj["type"] == "content_block_delta" and obj["delta"]["type"] == "text_delta":
        return obj["delta"]["text"]  # type: ignore[no-any-return]
    return None


def raw_floor(reads: list[bytes], piece: Callable[[dict[str, Any]], str | None]) -> int:
    text, lines, n = TextDecoder(), LineDecoder(), 0
    for read in reads:
        for line in lines.decode(text.decode(read)):
            if line.startswith("data: "):
                data = line[6:]
                if data == "[DONE]":
                    return n
                if piece(json.loads(data)):
                    n += 1
    return n


async def _areads(reads: list[bytes]) -> AsyncIterator[bytes]:
    for read in reads:
        yield read


async def _araw_floor(reads: list[bytes], piece: Callable[[dict[str, Any]], str | None]) -> int:
    text, lines, n = TextDecoder(), LineDecoder(), 0
    async for read in _areads(reads):
        for line in lines.decode(text.decode(read)):
            if line.startswith("data: "):
                data = line[6:]
                if data == "[DONE]":
                    return n
                if piece(json.loads(data)):
                    n += 1
    return n


async def _avv_side(reads: list[bytes], backend: BackendType) -> int:
    adapter = adapter_for(backend, settings.resolve(backend, "bench").endpoints[0])

    async def stream() -> AsyncIterator[Any]:
        decoder = adapter.stream_decoder()  # it adds up what it hands out (the stream's message)
        async for read in _areads(reads):
            for delta in decoder.deltas(read):
                yield delta
        for delta in decoder.close():
            yield delta

    n = 0
    async for delta in stream():
        if delta.content:
            n += 1
    return n


def vv_side(reads: list[bytes], backend: BackendType) -> int:
    adapter = adapter_for(backend, settings.resolve(backend, "bench").endpoints[0])

    def stream() -> Iterator[Any]:
        decoder = adapter.stream_decoder()  # it adds up what it hands out (the stream's message)
        for read in reads:
            yield from decoder.deltas(read)
        yield from decoder.close()

    return sum(1 for delta in stream() if delta.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--reads", choices=("64k", "event"), action="append", help="64 KiB reads or one read per event (default: both)")
    parser.add_argument("--mode", choices=("sync", "async"), action="append", help="default: both")
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    wires = [
        ("OpenAI", BackendType.OpenAI, "openai", openai_body, openai_piece),
        ("Anthropic", BackendType.Anthropic, "anthropic", anthropic_body, anthropic_piece),
    ]
    print("| wire | reads | mode | raw floor µs/chunk | vv-llm µs/chunk | vv-llm ÷ raw |\n|---|---|---|---:|---:|---:|")
    shapes = [(r, m) for r in args.reads or ("64k", "event") for m in args.mode or ("sync", "async")]
    for (title, backend, name, body, piece), (cut, mode) in ((w, s) for w in wires for s in shapes):
        settings.load(
            {
                "VERSION": "2",
                "endpoints": [{"id": "bench", "api_base": "http://127.0.0.1:9/v1", "api_key": "sk-bench"}],
                "backends": {name: {"models": {"bench": {"id": "bench", "endpoints": ["bench"]}}}},
            }
        )
        data = body(args.chunks)
        if cut == "64k":
            reads = [data[i : i + READ] for i in range(0, len(data), READ)]
        else:
            reads = [event + b"\n\n" for event in data[:-2].split(b"\n\n")]
        if mode == "sync":
            sides = {"raw": partial(raw_floor, reads, piece), "vv": partial(vv_side, reads, backend)}
        else:
            sides = {
                "raw": lambda: loop.run_until_complete(_araw_floor(reads, piece)),  # noqa: B023  # used within this iteration
                "vv": lambda: loop.run_until_complete(_avv_side(reads, backend)),  # noqa: B023
            }
        counts = {side: run() for side, run in sides.items()}
        if counts != {"raw": args.chunks, "vv": args.chunks}:
            raise SystemExit(f"{title}: chunks seen {counts}, sent {args.chunks}")
        best = dict.fromkeys(sides, float("inf"))
        for _ in range(args.runs):
            for side, run in sides.items():
                start = time.process_time()
                run()
                best[side] = min(best[side], time.process_time() - start)
        raw_us, vv_us = (best[side] / args.chunks * 1e6 for side in ("raw", "vv"))
        print(f"| {title} | {cut} | {mode} | {raw_us:.2f} | {vv_us:.2f} | {vv_us / raw_us:.2f}× |")
        if args.profile:
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.runcall(sides["vv"])
            pstats.Stats(profile).sort_stats("tottime").print_stats(12)
    loop.close()
    settings.reset()


if __name__ == "__main__":
    main()
