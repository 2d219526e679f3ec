"""Limits shared across processes: 4 processes x 2 threads hammer one endpoint through a real
redis-server and a real DiskCache directory; the fake server's own record of arrivals shows no
window ever admitted more than the limit (RPM, TPM) and never more calls in flight than the cap."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from typing import Any

import pytest

from vv_llm.testing import Reply, RequestInfo

PROCESSES, THREADS = 4, 2
USER = [{"role": "user", "content": "hello"}]
WINDOW = 2.0
SLACK = 0.5
"""Arrivals are seen a little after admission (loopback, but a busy machine): windows are checked
``SLACK`` shorter than the limiter's. A limiter that is not shared admits 4x the limit in one."""


def hammer(job: dict[str, Any], ready: Any, go: Any, results: Any) -> None:
    """One worker process: warms up, says it is ready, then THREADS threads call for
    ``job["duration"]`` seconds once ``go`` is set; puts its outcome on ``results``."""
    from vv_llm.chat_clients import BackendType, create_chat_client
    from vv_llm.errors import APITimeoutError, PartialStreamError, RateLimited
    from vv_llm.settings import settings

    outcome: dict[str, Any] = {"ok": 0, "limited": 0, "timed_out": 0, "errors": []}
    lock = threading.Lock()
    try:
        settings.load(job["settings"])
        client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
        # Warm up (imports, adapter, pooled connections) on an unlimited endpoint the test ignores.
        for _ in range(THREADS):
            client.create_completion([{"role": "user", "content": "warm-up"}], model="gpt-4o-mini")
    except Exception as exc:
        outcome["errors"].append(f"warm-up: {exc!r}")
    ready.put(1)
    go.wait()
    until = time.time() + job["duration"]

    def run() -> None:
        while not outcome["errors"]:
            left = until - time.time()
            if left <= 0.05:
                return
            try:
                # The deadline ends waits for room near the end (a little later, so that no
                # admitted stream is cut by it).
                if job["stream"]:
                    for _ in client.create_stream(USER, max_tokens=10, deadline=left + 1):
                        pass
                else:
                    client.create_completion(USER, max_tokens=10, deadline=left + 1)
                key = "ok"
            except RateLimited:  # no room before the deadline
                key = "limited"
            except APITimeoutError:  # the deadline ran out, maybe after the request was sent
                key = "timed_out"
            except PartialStreamError as exc:  # the deadline cut a stream that was still arriving (a slow machine)
                if "deadline" not in exc.message:
                    with lock:
                        outcome["errors"].append(repr(exc))
                    return
                key = "timed_out"
            except Exception as exc:  # reported to the test
                with lock:
                    outcome["errors"].append(repr(exc))
                return
            with lock:
                outcome[key] += 1

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put(outcome)


class Arrivals:
    """Responder recording when each request reached the fake server (this process's clock)."""

    def __init__(self, reply: Reply):
        self.reply = reply
        self.times: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, info: RequestInfo) -> Reply:
        if info.model == "gpt-4o":  # not the warm-up calls
            with self._lock:
                self.times.append(time.monotonic())
        return self.reply


def run_workers(
    server: Any, backend: dict[str, Any], endpoint: dict[str, Any], duration: float, stream: bool = False
) -> list[dict[str, Any]]:
    data = {
        "endpoints": [
            {"id": "shared", "api_base": server.url("/v1"), "api_key": "sk-shared-test-key-0000", **endpoint},
            # A limit nothing reaches, so that warming up also loads the tokenizer a TPM estimate
            # needs (about a second, longer on a busy machine, which would otherwise eat the run).
            {"id": "warm", "api_base": server.url("/v1"), "api_key": "sk-shared-test-key-0000", "tpm": 10**9},
        ],
        "backends": {"openai": {"models": {"gpt-4o": {"endpoints": ["shared"]}, "gpt-4o-mini": {"endpoints": ["warm"]}}}},
        "rate_limit": {"window_seconds": WINDOW, **backend},
        "retry": {"max_attempts": 1},
    }
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Queue(), context.Event(), context.Queue()
    job = {"settings": data, "duration": duration, "stream": stream}
    workers = [context.Process(target=hammer, args=(job, ready, go, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:  # the clock starts once every worker has imported and warmed up
            ready.get(timeout=120)
        go.set()
        outcomes = [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
    for outcome in outcomes:
        assert outcome["errors"] == []
    return outcomes


def most_in_any_window(times: list[float], weights: list[int] | None = None, length: float = WINDOW - SLACK) -> int:
    times = sorted(times)
    weights = weights or [1] * len(times)
    best = 0
    for i, t in enumerate(times):
        best = max(best, sum(w for u, w in zip(times[i:], weights[i:], strict=True) if u < t + length))
    return best


@pytest.fixture(params=["redis", "diskcache"])
def shared_store(request, tmp_path) -> dict[str, Any]:
    if request.param == "redis":
        return {"backend": "redis", "redis": {"url": request.getfixturevalue("redis_url")}}
    return {"backend": "diskcache", "diskcache": {"cache_dir": str(tmp_path / "limits")}}


def assert_nothing_lost(outcomes: list[dict[str, Any]], arrivals: Any) -> int:
    """Every call the workers saw answered reached the server once; the only other arrivals are
    calls whose deadline ran out after they were sent (admitted at the last moment of a wait)."""
    admitted = sum(o["ok"] for o in outcomes)
    timed_out = sum(o["timed_out"] for o in outcomes)
    assert admitted <= len(arrivals.times) <= admitted + timed_out, outcomes
    return admitted


@pytest.mark.redis
def test_rpm_holds_across_processes_and_threads(fake_llm_server, shared_store):
    arrivals = fake_llm_server.responder = Arrivals(Reply(content="ok"))
    outcomes = run_workers(fake_llm_server, shared_store, {"rpm": 60}, duration=WINDOW * 1.75)
    admitted = assert_nothing_lost(outcomes, arrivals)
    assert admitted >= 60  # the first window filled up: the limit admits, it does not just refuse
    most = most_in_any_window(arrivals.times)
    assert most <= 60, (most, outcomes)


@pytest.mark.redis
def test_tpm_holds_across_processes_and_threads(fake_llm_server, shared_store):
    # Each call reserves its prompt estimate + max_tokens=10 and really uses 1 + 9 = 10 tokens.
    arrivals = fake_llm_server.responder = Arrivals(Reply(content="ok", prompt_tokens=1, completion_tokens=9))
    outcomes = run_workers(fake_llm_server, shared_store, {"tpm": 300}, duration=WINDOW * 1.75)
    admitted = assert_nothing_lost(outcomes, arrivals)
    assert admitted >= 20
    most = most_in_any_window(arrivals.times, [10] * admitted)
    assert most <= 300, (most, outcomes)


@pytest.mark.redis
def test_concurrency_cap_holds_across_processes(fake_llm_server, shared_store):
    # Every stream lasts at least 4 x 0.05 s on the server; its slot is held at least that long.
    reply = Reply(content="abcdefgh", chunk_chars=2, chunk_delay=0.05)
    arrivals = fake_llm_server.responder = Arrivals(reply)
    outcomes = run_workers(fake_llm_server, shared_store, {"concurrent_requests": 3}, duration=2.0, stream=True)
    assert assert_nothing_lost(outcomes, arrivals) >= 6, outcomes
    most = most_in_any_window(arrivals.times, length=4 * 0.05 - 0.02)
    assert most <= 3, (most, outcomes)


@pytest.mark.redis
async def test_async_calls_through_a_shared_store(fake_llm_server, shared_store):
    """Store I/O runs off the event loop; streams settle (and free their slot) when they end or are dropped."""
    from vv_llm.chat_clients import BackendType, create_async_chat_client
    from vv_llm.errors import RateLimited
    from vv_llm.settings import settings

    settings.load(
        {
            "endpoints": [
                {
                    "id": "shared",
                    "api_base": fake_llm_server.url("/v1"),
                    "api_key": "sk-shared-test-key-0000",
                    "concurrent_requests": 1,
                    "tpm": 1000,
                }
            ],
            "backends": {"openai": {"models": {"gpt-4o": {"endpoints": ["shared"]}}}},
            "rate_limit": {"window_seconds": 30, **shared_store},
        }
    )
    try:
        fake_llm_server.responder = lambda info: Reply(content="abcdefgh", chunk_chars=2, prompt_tokens=5, completion_tokens=5)
        client = create_async_chat_client(BackendType.OpenAI, model="gpt-4o")
        texts = await asyncio.gather(*[client.create_completion(USER, max_tokens=100) for _ in range(4)])
        assert [t.content for t in texts] == ["abcdefgh"] * 4
        stream = client.create_stream(USER, max_tokens=100)
        async for _ in stream:
            break
        with pytest.raises(RateLimited, match="concurrent_requests"):
            await client.create_completion(USER, max_tokens=100, deadline=0.3)
        await stream.aclose()
        # 4 calls settled at 10 tokens each, the dropped stream keeps its ~105 reserved (no usage
        # arrived): room for ~800 more. Unsettled, the 4 calls would still hold ~420.
        assert (await client.create_completion(USER, max_tokens=800, deadline=2)).content == "abcdefgh"
    finally:
        settings.reset()
