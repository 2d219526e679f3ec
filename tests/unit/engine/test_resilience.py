"""Failover, retry, timeouts and deadlines through the public API against the fake server, sync
and async: endpoints fail in the ways real ones do, and calls keep answering — or fail with a
typed error that says what happened — without duplicating or losing output."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.errors import APIConnectionError, APITimeoutError, InvalidRequestError, PartialStreamError, RateLimitError, ServerError
from vv_llm.settings import settings
from vv_llm.testing import Reply, RequestInfo, echo_responder, unused_port
from vv_llm.testing.settings import FAKE_KEY
from vv_llm.utilities.endpoint_choice import cooldowns

USER = [{"role": "user", "content": "hello"}]
MODES = ["sync", "async"]


class Script:
    """Responder: the given replies in order (then echo), noting when each request arrived and
    which model id (so which endpoint) it asked for."""

    def __init__(self, *replies: Reply):
        self.replies = list(replies)
        self.times: list[float] = []
        self.models: list[str] = []

    def __call__(self, info: RequestInfo) -> Reply:
        self.times.append(time.monotonic())
        self.models.append(info.model)
        return self.replies.pop(0) if self.replies else echo_responder(info)


@pytest.fixture
def use(fake_llm_server):
    """``use(endpoints, **top_level)`` loads settings whose gpt-4o is served by ``endpoints``: dicts
    with an ``id`` and either ``dead=True`` (nothing listens) or a ``model`` id on the fake server."""

    def load(endpoints: list[dict[str, Any]], **extra: Any) -> None:
        settings_endpoints, refs = [], []
        for e in endpoints:
            e = dict(e)
            dead, model = e.pop("dead", False), e.pop("model", "gpt-4o")
            base = f"http://127.0.0.1:{unused_port()}/v1" if dead else fake_llm_server.url("/v1")
            settings_endpoints.append({"api_base": base, "api_key": FAKE_KEY, **e})
            refs.append({"endpoint_id": e["id"], "model_id": model})
        settings.load({"endpoints": settings_endpoints, "backends": {"openai": {"models": {"gpt-4o": {"endpoints": refs}}}}, **extra})

    cooldowns.clear()
    yield load
    settings.reset()
    cooldowns.clear()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the client asks for (``time.sleep`` in sync calls, ``asyncio.sleep`` in async
    ones, on the test's own thread — the fake server's thread is not counted), in order. They are
    still slept: what a test checks is how long the retry loop chose to wait, not the clock."""
    asked: list[float] = []
    me = threading.get_ident()
    real_sleep, real_async_sleep = time.sleep, asyncio.sleep

    def sleep(seconds: float) -> None:
        if threading.get_ident() == me:
            asked.append(seconds)
        real_sleep(seconds)

    async def async_sleep(seconds: float, result: Any = None) -> Any:
        if threading.get_ident() == me:
            asked.append(seconds)
        return await real_async_sleep(seconds, result)

    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(asyncio, "sleep", async_sleep)
    return asked


def complete(mode: str, **options: Any) -> Any:
    if mode == "sync":
        return create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER, **options)

    async def main() -> Any:
        return await create_async_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER, **options)

    return asyncio.run(main())


def stream(mode: str, **options: Any) -> tuple[list[str], Any]:
    """Content pieces received, and the stream's message (raises what the stream raises)."""
    pieces: list[str] = []
    if mode == "sync":
        s = create_chat_client(BackendType.OpenAI, model="gpt-4o").create_stream(USER, **options)
        try:
            for delta in s:
                if delta.content:
                    pieces.append(delta.content)
        except PartialStreamError as error:
            error.add_note(f"pieces={pieces!r}")
            raise
        return pieces, s.message

    async def main() -> tuple[list[str], Any]:
        s = create_async_chat_client(BackendType.OpenAI, model="gpt-4o").create_stream(USER, **options)
        try:
            async for delta in s:
                if delta.content:
                    pieces.append(delta.content)
        except PartialStreamError as error:
            error.add_note(f"pieces={pieces!r}")
            raise
        return pieces, s.message

    return asyncio.run(main())


# -- failover ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streamed", [False, True], ids=["completion", "stream"])
def test_first_endpoint_refuses_connections_second_answers(use, fake_llm_server, mode, streamed):
    use([{"id": "dead", "dead": True}, {"id": "live", "priority": 1}])
    if streamed:
        pieces, message = stream(mode)
        assert "".join(pieces) == message.content and message.content.startswith("This is the vv-llm fake")
    else:
        message = complete(mode)
        assert message.content.startswith("This is the vv-llm fake")
    assert message.endpoint_id == "live"
    assert len(fake_llm_server.requests) == 1
    assert cooldowns.cooling("dead") and not cooldowns.cooling("live")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streamed", [False, True], ids=["completion", "stream"])
def test_server_error_fails_over_to_the_other_endpoint_at_once(use, fake_llm_server, mode, streamed):
    script = fake_llm_server.responder = Script(Reply.error(503, "overloaded"))
    use([{"id": "a", "model": "model-a"}, {"id": "b", "model": "model-b", "priority": 1}])
    message = stream(mode)[1] if streamed else complete(mode)
    assert script.models == ["model-a", "model-b"] and message.endpoint_id == "b"


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_endpoint_is_avoided_while_it_cools_down(use, fake_llm_server, mode):
    script = fake_llm_server.responder = Script(Reply.error(500))
    use([{"id": "a", "model": "model-a"}, {"id": "b", "model": "model-b"}], retry={"cooldown_seconds": 60})
    for _ in range(8):
        assert complete(mode).content
    failed = script.models[0]  # whichever endpoint got the 500 is not asked again
    assert script.models.count(failed) == 1 and len(script.models) == 9


@pytest.mark.parametrize("mode", MODES)
def test_bad_request_is_not_failed_over(use, fake_llm_server, mode):
    from vv_llm.errors import BadRequestError

    script = fake_llm_server.responder = Script(Reply.error(400, "Invalid 'messages'"))
    use([{"id": "a", "model": "model-a"}, {"id": "b", "model": "model-b", "priority": 1}])
    with pytest.raises(BadRequestError):
        complete(mode)
    assert script.models == ["model-a"]


# -- retry ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streamed", [False, True], ids=["completion", "stream"])
def test_500_then_200_is_exactly_one_retry(use, fake_llm_server, mode, streamed):
    use([{"id": "only"}], retry={"backoff_initial": 0.05})
    fake_llm_server.enqueue(Reply.error(500, "boom"), Reply(content="fine now"))
    message = stream(mode)[1] if streamed else complete(mode)
    assert message.content == "fine now"
    assert len(fake_llm_server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_429_with_retry_after_waits_that_long(use, fake_llm_server, mode, sleeps):
    script = fake_llm_server.responder = Script(Reply.rate_limited(retry_after=1), Reply(content="after the pause"))
    use([{"id": "only"}], retry={"backoff_initial": 0.01})
    assert complete(mode).content == "after the pause"
    assert len(script.times) == 2
    assert sleeps == [1.0]  # the provider's Retry-After, not the 0.01 s backoff


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_ms_is_honoured(use, fake_llm_server, mode, sleeps):
    script = fake_llm_server.responder = Script(
        Reply.error(429, "slow down", headers={"retry-after-ms": "600"}), Reply(content="after the pause")
    )
    use([{"id": "only"}], retry={"backoff_initial": 0.01})
    assert complete(mode).content == "after the pause"
    assert len(script.times) == 2 and sleeps == [0.6]


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_longer_than_backoff_max_is_not_waited_for(use, fake_llm_server, mode):
    use([{"id": "only"}], retry={"backoff_max": 5})
    fake_llm_server.enqueue(Reply.rate_limited(retry_after=120))
    with pytest.raises(RateLimitError) as info:
        complete(mode)
    assert info.value.retry_after == 120 and len(fake_llm_server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_attempts_are_bounded_in_settings_and_per_call(use, fake_llm_server, mode):
    use([{"id": "only"}], retry={"max_attempts": 4, "backoff_initial": 0.01})
    fake_llm_server.enqueue(*[Reply.error(500, f"boom {i}") for i in range(10)])
    with pytest.raises(ServerError, match="boom 3"):
        complete(mode)
    assert len(fake_llm_server.requests) == 4
    fake_llm_server.reset()
    fake_llm_server.enqueue(*[Reply.error(500, f"boom {i}") for i in range(10)])
    with pytest.raises(ServerError, match="boom 0"):
        complete(mode, max_retries=0)
    assert len(fake_llm_server.requests) == 1
    fake_llm_server.reset()
    fake_llm_server.enqueue(Reply.error(500), Reply.error(500), Reply(content="third time"))
    assert complete(mode, max_retries=2).content == "third time"


@pytest.mark.parametrize("mode", MODES)
def test_retries_go_round_every_endpoint(use, fake_llm_server, mode):
    script = fake_llm_server.responder = Script(Reply.error(500), Reply.error(502), Reply.error(503), Reply(content="ok"))
    use([{"id": "a", "model": "model-a"}, {"id": "b", "model": "model-b", "priority": 1}], retry={"backoff_initial": 0.01})
    assert complete(mode).content == "ok"
    # a fails, b at once, then after a backoff a again, then b.
    assert script.models == ["model-a", "model-b", "model-a", "model-b"]


# -- streams: nothing replayed after output ---------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_reset_after_three_chunks_is_partial_with_those_chunks_and_no_retry(use, fake_llm_server, mode):
    use([{"id": "a"}, {"id": "b", "priority": 1}])
    fake_llm_server.enqueue(Reply(content="abcdefghijklmnopqrstuvwxyz", chunk_chars=4, reset_after_chunks=3))
    with pytest.raises(PartialStreamError) as info:
        stream(mode)
    error = info.value
    assert error.partial.content == "abcdefghijkl"
    assert error.__notes__ == ["pieces=['abcd', 'efgh', 'ijkl']"]
    assert (error.provider, error.endpoint_id) == ("openai", "a")
    assert len(fake_llm_server.requests) == 1  # not retried, not failed over
    assert FAKE_KEY not in str(error) + repr(error) + repr(error.args)


@pytest.mark.parametrize("mode", MODES)
def test_stream_error_event_before_any_output_fails_over(use, fake_llm_server, mode):
    script = fake_llm_server.responder = Script(Reply(content="never shown", stream_error_after_chunks=0, error_message="overloaded"))
    use([{"id": "a", "model": "model-a"}, {"id": "b", "model": "model-b", "priority": 1}])
    pieces, message = stream(mode)
    assert "never shown" not in "".join(pieces) and message.endpoint_id == "b"
    assert script.models == ["model-a", "model-b"]


# -- timeouts and deadlines ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streamed", [False, True], ids=["completion", "stream"])
def test_slow_first_byte_past_the_read_timeout_is_a_timeout_within_the_deadline(use, fake_llm_server, mode, streamed, sleeps):
    use([{"id": "slow"}], retry={"backoff_initial": 0.05, "max_attempts": 10})
    fake_llm_server.responder = lambda info: Reply(content="too late", first_byte_delay=6)
    with pytest.raises(APITimeoutError) as info:
        if streamed:
            stream(mode, timeout=0.4, deadline=2)
        else:
            complete(mode, timeout=0.4, deadline=2)
    assert info.value.endpoint_id == "slow" and info.value.provider == "openai"
    attempts = len(fake_llm_server.requests)
    assert attempts >= 2  # read timeouts were retried until the deadline
    # Bounded by the deadline, not by the 6 s server nor by max_attempts: each attempt waits its
    # 0.4 s read timeout (or what is left of the deadline), so at most 2 / 0.4 of them fit, and
    # the pauses between them fit in the deadline too.
    assert attempts <= 6 and len(sleeps) <= attempts and sum(sleeps) < 2


@pytest.mark.parametrize("mode", MODES)
def test_read_timeout_from_settings(use, fake_llm_server, mode):
    use([{"id": "slow"}], retry={"max_attempts": 1}, timeouts={"read": 0.3})
    fake_llm_server.enqueue(Reply(content="late", first_byte_delay=10))
    with pytest.raises(APITimeoutError, match="timeout"):
        complete(mode)


@pytest.mark.parametrize("mode", MODES)
def test_deadline_bounds_backoff_sleeps(use, fake_llm_server, mode, sleeps):
    use([{"id": "only"}], retry={"max_attempts": 50, "backoff_initial": 0.2, "backoff_max": 0.4}, timeouts={"total": 1.0})
    fake_llm_server.responder = lambda info: Reply.error(500, "down")
    with pytest.raises((ServerError, APITimeoutError)) as info:
        complete(mode)
    attempts = len(fake_llm_server.requests)
    assert 1 < attempts < 50  # retried, and stopped by the deadline, not by max_attempts
    assert all(0.1 <= pause <= 0.4 for pause in sleeps)  # backoff with equal jitter: [c/2, c], c <= backoff_max
    assert sum(sleeps) < 1.0  # the loop only sleeps when the pause ends before the deadline
    if isinstance(info.value, ServerError):
        assert len(sleeps) == attempts - 1  # a pause between attempts, none after the last: it gave up
    else:  # a busy machine overslept the last pause, past the deadline: not sent again
        assert "deadline passed" in str(info.value) and len(sleeps) == attempts


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": -1},
        {"timeout": "soon"},
        {"timeout": (1, 0)},
        {"deadline": 0},
        {"deadline": "x"},
        {"max_retries": -1},
        {"max_retries": 1.5},
    ],
)
def test_bad_timeout_options_are_refused_before_sending(use, fake_llm_server, options):
    use([{"id": "only"}])
    with pytest.raises(InvalidRequestError):
        complete("sync", **options)
    assert fake_llm_server.requests == []


def test_connect_and_read_timeouts_per_call(use, fake_llm_server):
    use([{"id": "only"}])
    fake_llm_server.enqueue(Reply(content="late", first_byte_delay=10))
    with pytest.raises(APITimeoutError):
        complete("sync", timeout=(1.0, 0.3), max_retries=0)


# -- everything failing ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_every_endpoint_down_is_a_connection_error_naming_the_last_endpoint(use, mode):
    use([{"id": "down-1", "dead": True}, {"id": "down-2", "dead": True}], retry={"max_attempts": 2, "backoff_initial": 0.01})
    with pytest.raises(APIConnectionError) as info:
        complete(mode)
    assert info.value.endpoint_id in ("down-1", "down-2") and info.value.provider == "openai"
    assert FAKE_KEY not in str(info.value) + repr(info.value)


# -- endpoint choice ---------------------------------------------------------------------------------


def _resolved(*specs: dict[str, Any]) -> tuple[Any, ...]:
    from vv_llm.settings.store import Settings

    store = Settings()
    store.load(
        {
            "endpoints": [{"api_base": "http://127.0.0.1:9/v1", **spec} for spec in specs],
            "backends": {"openai": {"models": {"gpt-4o": {"endpoints": [spec["id"] for spec in specs]}}}},
        }
    )
    return store.resolve("openai", "gpt-4o").endpoints


def test_choice_is_random_by_weight_among_the_best_priority():
    import random
    from collections import Counter

    from vv_llm.utilities.endpoint_choice import choose_endpoint

    endpoints = _resolved({"id": "heavy", "weight": 3}, {"id": "light", "weight": 1}, {"id": "backup", "priority": 1})
    rng = random.Random(7)
    counts = Counter(choose_endpoint(endpoints, rng=rng).id for _ in range(4000))
    assert counts["backup"] == 0
    assert 2700 < counts["heavy"] < 3300 and 700 < counts["light"] < 1300
    # The backup is used once the better ones failed in this call, or are cooling down.
    assert choose_endpoint(endpoints, ["heavy", "light"], rng=rng).id == "backup"
    cooldowns.clear()
    cooldowns.mark("heavy", 60)
    cooldowns.mark("light", 60)
    try:
        assert choose_endpoint(endpoints, rng=rng).id == "backup"
        cooldowns.recovered("light")
        assert choose_endpoint(endpoints, rng=rng).id == "light"
    finally:
        cooldowns.clear()


def test_disabled_endpoints_are_never_chosen(use, fake_llm_server):
    script = fake_llm_server.responder = Script()
    use([{"id": "off", "model": "model-off", "enabled": False}, {"id": "on", "model": "model-on"}])
    for _ in range(5):
        assert complete("sync").endpoint_id == "on"
    assert set(script.models) == {"model-on"}
