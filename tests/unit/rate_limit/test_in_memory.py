"""Our own rate limits (in-memory store) through the public API, sync and async: RPM, TPM reserved
then settled to real usage, concurrency caps released however a call ends, per-model limits,
waiting within the deadline and RateLimited naming the limit."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.errors import BadRequestError, RateLimited
from vv_llm.settings import settings
from vv_llm.testing import Reply, RequestInfo, echo_responder
from vv_llm.testing.settings import FAKE_KEY
from vv_llm.utilities.endpoint_choice import cooldowns
from vv_llm.utilities.rate_limit import NoLimits, gate_for, reset_memory_store

USER = [{"role": "user", "content": "hello"}]
MODES = ["sync", "async"]


class Script:
    """Responder noting when each request arrived and which model id it asked for."""

    def __init__(self, reply: Reply | None = None):
        self.reply = reply
        self.times: list[float] = []
        self.models: list[str] = []

    def __call__(self, info: RequestInfo) -> Reply:
        self.times.append(time.monotonic())
        self.models.append(info.model)
        return self.reply if self.reply is not None else echo_responder(info)


@pytest.fixture
def use(fake_llm_server):
    """``use(endpoints, refs=None, **rate_limit)``: gpt-4o served by ``endpoints`` on the fake server."""

    def load(endpoints: list[dict[str, Any]], refs: list[Any] | None = None, **rate_limit: Any) -> None:
        settings.load(
            {
                "endpoints": [{"api_base": fake_llm_server.url("/v1"), "api_key": FAKE_KEY, **e} for e in endpoints],
                "backends": {"openai": {"models": {"gpt-4o": {"endpoints": refs or [e["id"] for e in endpoints]}}}},
                "rate_limit": rate_limit,
            }
        )

    reset_memory_store()
    cooldowns.clear()
    yield load
    settings.reset()
    reset_memory_store()
    cooldowns.clear()


def complete(mode: str, **options: Any) -> Any:
    if mode == "sync":
        return create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER, **options)

    async def main() -> Any:
        return await create_async_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER, **options)

    return asyncio.run(main())


def test_no_limit_configured_means_no_gate(use):
    use([{"id": "free"}])
    assert isinstance(gate_for(settings.model), NoLimits)
    use([{"id": "free"}], enabled=False, default_rpm=5)
    assert isinstance(gate_for(settings.model), NoLimits)
    use([{"id": "limited", "concurrent_requests": 3}])
    assert not isinstance(gate_for(settings.model), NoLimits)


# -- RPM ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_rpm_makes_the_next_call_wait_for_the_window(use, fake_llm_server, mode):
    script = fake_llm_server.responder = Script()
    use([{"id": "e", "rpm": 2}], window_seconds=1)
    for _ in range(3):
        assert complete(mode).content
    assert script.times[2] - script.times[0] >= 0.8  # the third waited for the first to leave the window (less delivery delays)


@pytest.mark.parametrize("mode", MODES)
def test_rpm_past_the_deadline_is_rate_limited_naming_the_limit(use, fake_llm_server, mode):
    use([{"id": "e", "rpm": 2}], window_seconds=30)
    complete(mode)
    complete(mode)
    with pytest.raises(RateLimited) as info:
        complete(mode, deadline=0.5)
    error = info.value
    assert (error.limit, error.endpoint_id, error.model_id) == ("rpm", "e", None)
    assert error.retry_after is not None and 25 < error.retry_after <= 30
    assert "rpm limit (2 per 30 s) of endpoint 'e'" in str(error)
    assert len(fake_llm_server.requests) == 2  # nothing was sent for the refused call


@pytest.mark.parametrize("mode", MODES)
def test_default_rpm_applies_to_endpoints_without_their_own(use, mode):
    use([{"id": "e"}], default_rpm=1, window_seconds=30)
    complete(mode)
    with pytest.raises(RateLimited, match="rpm limit"):
        complete(mode, deadline=0.3)


@pytest.mark.parametrize("mode", MODES)
def test_per_model_limit_on_an_endpoint(use, mode):
    use([{"id": "shared", "rpm": 100}], refs=[{"endpoint_id": "shared", "rpm": 1}], window_seconds=30)
    complete(mode)
    with pytest.raises(RateLimited) as info:
        complete(mode, deadline=0.3)
    assert (info.value.limit, info.value.endpoint_id, info.value.model_id) == ("rpm", "shared", "gpt-4o")
    assert "for model 'gpt-4o'" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_full_endpoint_is_skipped_for_one_with_room(use, fake_llm_server, mode):
    script = fake_llm_server.responder = Script()
    use(
        [{"id": "a", "rpm": 1}, {"id": "b", "priority": 1}],
        refs=[{"endpoint_id": "a", "model_id": "model-a"}, {"endpoint_id": "b", "model_id": "model-b"}],
        window_seconds=30,
    )
    assert complete(mode).endpoint_id == "a"
    assert complete(mode).endpoint_id == "b"  # no waiting for a's window
    assert script.models == ["model-a", "model-b"]


# -- TPM ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_tpm_reservations_settle_to_real_usage(use, fake_llm_server, mode):
    # Each call reserves its prompt plus max_tokens=100 (> 100 tokens); it really uses 10.
    fake_llm_server.responder = Script(Reply(content="ok", prompt_tokens=5, completion_tokens=5))
    use([{"id": "e", "tpm": 300}], window_seconds=30)
    for _ in range(10):  # 10 x 10 real tokens fit; 10 unsettled reservations would not
        assert complete(mode, max_tokens=100, deadline=1).usage.total_tokens == 10
    with pytest.raises(RateLimited) as info:
        complete(mode, max_tokens=250, deadline=0.3)  # 100 used + ~250 reserved > 300
    assert info.value.limit == "tpm"


def test_a_held_stream_keeps_its_tpm_reservation_until_it_ends(use, fake_llm_server):
    fake_llm_server.responder = Script(Reply(content="abcdefgh", chunk_chars=2, prompt_tokens=5, completion_tokens=5))
    use([{"id": "e", "tpm": 300}], window_seconds=30)
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    stream = client.create_stream(USER, max_tokens=200)
    next(iter(stream))  # admitted: ~200 tokens reserved
    with pytest.raises(RateLimited, match="tpm limit"):
        client.create_completion(USER, max_tokens=200, deadline=0.3)
    list(stream)  # ends with usage 10: settled
    assert client.create_completion(USER, max_tokens=200, deadline=1).content == "abcdefgh"


# -- concurrency ---------------------------------------------------------------------------------


def test_concurrency_cap_and_release_when_a_stream_is_abandoned(use, fake_llm_server):
    use([{"id": "e", "concurrent_requests": 1}])
    fake_llm_server.responder = Script(Reply(content="abcdefghijklmnop", chunk_chars=2))
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    stream = client.create_stream(USER)
    for _ in stream:
        break  # one delta in, then walk away from it
    with pytest.raises(RateLimited) as info:
        client.create_completion(USER, deadline=0.3)
    assert (info.value.limit, info.value.endpoint_id) == ("concurrency", "e")
    assert "concurrent_requests limit (1 in flight) of endpoint 'e'" in str(info.value)
    stream.close()
    assert client.create_completion(USER, deadline=1).content

    # An abandoned stream that is only garbage-collected frees its slot too.
    abandoned = client.create_stream(USER)
    next(iter(abandoned))
    del abandoned
    gc.collect()
    assert client.create_completion(USER, deadline=1).content


def test_concurrency_cap_released_after_errors(use, fake_llm_server):
    use([{"id": "e", "concurrent_requests": 1}], window_seconds=30)
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    fake_llm_server.enqueue(Reply.error(400, "bad request"))
    with pytest.raises(BadRequestError):
        client.create_completion(USER)
    assert client.create_completion(USER, deadline=1).content


def test_concurrency_cap_makes_the_next_call_wait_for_the_slot(use, fake_llm_server):
    use([{"id": "e", "concurrent_requests": 1}])
    script = fake_llm_server.responder = Script()
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    stream = client.create_stream(USER)
    next(iter(stream))
    ended: list[float] = []

    def finish_later() -> None:
        time.sleep(0.3)
        ended.append(time.monotonic())
        list(stream)

    worker = threading.Thread(target=finish_later)
    worker.start()
    assert client.create_completion(USER, deadline=5).content
    worker.join()
    assert len(script.times) == 2 and script.times[1] >= ended[0]


async def test_async_concurrency_cap_serialises_calls(use, fake_llm_server):
    use([{"id": "e", "concurrent_requests": 1}])
    script = fake_llm_server.responder = Script(Reply(content="abcdefgh", chunk_chars=2, chunk_delay=0.05))
    client = create_async_chat_client(BackendType.OpenAI, model="gpt-4o")
    ended: list[float] = []

    async def one() -> str:
        text = ""
        async for delta in client.create_stream(USER):
            text += delta.content or ""
        ended.append(time.monotonic())
        return text

    assert await asyncio.gather(one(), one(), one()) == ["abcdefgh"] * 3
    # Each request arrived only after the previous stream had ended.
    assert script.times[1] >= ended[0] and script.times[2] >= ended[1]


async def test_async_cancelled_call_frees_its_slot(use, fake_llm_server):
    use([{"id": "e", "concurrent_requests": 1}])
    fake_llm_server.enqueue(Reply(content="late", first_byte_delay=3))
    client = create_async_chat_client(BackendType.OpenAI, model="gpt-4o")
    task = asyncio.create_task(client.create_completion(USER))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await client.create_completion(USER, deadline=10)).content


async def test_async_abandoned_stream_frees_its_slot(use, fake_llm_server):
    use([{"id": "e", "concurrent_requests": 1}])
    fake_llm_server.responder = Script(Reply(content="abcdefghijkl", chunk_chars=2))
    client = create_async_chat_client(BackendType.OpenAI, model="gpt-4o")
    stream = client.create_stream(USER)
    async for _ in stream:
        break
    with pytest.raises(RateLimited, match="concurrent_requests"):
        await client.create_completion(USER, deadline=0.3)
    await stream.aclose()
    assert (await client.create_completion(USER, deadline=10)).content


async def test_async_waiting_for_a_slot_does_not_block_the_event_loop(use, fake_llm_server):
    use([{"id": "e", "rpm": 1}], window_seconds=1)
    client = create_async_chat_client(BackendType.OpenAI, model="gpt-4o")
    await client.create_completion(USER)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    counting = asyncio.create_task(ticker())
    await client.create_completion(USER)  # waits ~1 s for the window
    counting.cancel()
    assert ticks >= 10  # the loop kept running while the call waited
