"""Rate limiters: what a call costs with the memory, DiskCache and Redis stores (acquire + settle)
next to a call without limits, against the fake server. Measured, never asserted.

Every limited endpoint has an RPM, a TPM and a concurrency cap set far above what the benchmark
reaches, so each call pays a full acquire and a full settle but never waits. Rounds alternate
between the configurations so machine noise spreads evenly; medians over rounds are shown.

    .venv/bin/python -m benchmarks.bench_limiters [--calls 200] [--rounds 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vv_llm.chat_clients import BackendType, create_chat_client  # noqa: E402
from vv_llm.chat_clients.transport import run_sync, shared_sync_transport  # noqa: E402
from vv_llm.settings import settings  # noqa: E402
from vv_llm.testing import FakeLLMServer, Reply, unused_port  # noqa: E402
from vv_llm.types.messages import Usage  # noqa: E402

USER = [{"role": "user", "content": "hello"}]
LIMITS = {"rpm": 10**9, "tpm": 10**12, "concurrent_requests": 10**6}


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    import redis

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = unused_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            return process, url
        except redis.ConnectionError:
            time.sleep(0.025)
    process.terminate()
    raise RuntimeError("redis-server did not start")


def configurations(server: FakeLLMServer, redis_url: str, cache_dir: str) -> dict[str, dict[str, Any]]:
    def data(limited: bool, **rate_limit: Any) -> dict[str, Any]:
        endpoint = {"id": "bench", "api_base": server.url("/v1"), "api_key": "sk-bench", **(LIMITS if limited else {})}
        return {
            "endpoints": [endpoint],
            "backends": {"openai": {"models": {"gpt-4o": {"endpoints": ["bench"]}}}},
            "rate_limit": rate_limit,
        }

    return {
        "no limits": data(False),
        "memory": data(True),
        "diskcache": data(True, backend="diskcache", diskcache={"cache_dir": cache_dir}),
        "redis": data(True, backend="redis", redis={"url": redis_url}),
    }


def per_call(calls: int) -> float:
    """Seconds per sequential completion through the public API."""
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    client.create_completion(USER, max_tokens=16)  # adapter, connection and store warm
    started = time.perf_counter()
    for _ in range(calls):
        client.create_completion(USER, max_tokens=16)
    return (time.perf_counter() - started) / calls


def gate_alone(calls: int) -> float | None:
    """Seconds per acquire + settle of the configured gate, without the HTTP call."""
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    engine = client._engine
    call = engine.prepare(USER, "gpt-4o", False, {"max_tokens": 16})
    gate = engine._gate
    if not gate.active:
        return None
    endpoint = call.resolved.endpoints[0]
    transport = shared_sync_transport()
    usage = Usage(prompt_tokens=5, completion_tokens=16, total_tokens=21)
    started = time.perf_counter()
    for _ in range(calls):
        ticket = run_sync(gate.acquire(endpoint, call), transport)
        ticket.settle(usage)
    return (time.perf_counter() - started) / calls


def measure(calls: int, rounds: int) -> list[dict[str, Any]]:
    redis_process, redis_url = start_redis()
    cache_dir = tempfile.mkdtemp(prefix="vv-llm-bench-limits-")
    try:
        with FakeLLMServer(responder=lambda info: Reply(content="ok", prompt_tokens=5, completion_tokens=16)) as server:
            configs = configurations(server, redis_url, cache_dir)
            samples: dict[str, dict[str, list[float]]] = {name: {"call": [], "gate": []} for name in configs}
            for _ in range(rounds):
                for name, data in configs.items():
                    settings.load(data)
                    samples[name]["call"].append(per_call(calls))
                    alone = gate_alone(calls)
                    if alone is not None:
                        samples[name]["gate"].append(alone)
            settings.reset()
    finally:
        redis_process.terminate()
        redis_process.wait(10)
        shutil.rmtree(cache_dir, ignore_errors=True)
    base = statistics.median(samples["no limits"]["call"])
    rows = []
    for name, s in samples.items():
        call = statistics.median(s["call"])
        rows.append(
            {
                "limiter": name,
                "per_call_s": call,
                "ratio": call / base,
                "added_s": call - base,
                "gate_alone_s": statistics.median(s["gate"]) if s["gate"] else None,
            }
        )
    return rows


def render(rows: list[dict[str, Any]], calls: int, rounds: int) -> str:
    def us(seconds: float | None) -> str:
        return "—" if seconds is None else f"{seconds * 1e6:,.1f} µs"

    lines = [
        f"Sequential sync completions against the fake server, {calls} calls × {rounds} rounds; medians over rounds.",
        "",
        "| limiter | per call | × no limits | added per call | acquire + settle alone |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['limiter']} | {us(r['per_call_s'])} | {r['ratio']:.2f}× | {us(r['added_s'])} | {us(r['gate_alone_s'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = measure(args.calls, args.rounds)
    print(json.dumps(rows, indent=2) if args.json else render(rows, args.calls, args.rounds))


if __name__ == "__main__":
    main()
