"""Carrying out a plan's effects over httpx: ``run_sync`` and ``run_async``.

Only this module touches the network. httpx failures become vv-llm's typed errors here and are
thrown back into the plan, which decides about retry and failover.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpx

from vv_llm.chat_clients.adapters.base import HttpRequest, HttpResponse
from vv_llm.errors import APIConnectionError, APITimeoutError, InvalidRequestError, VVLLMError
from vv_llm.types.effects import Blocking, Open, OpenedResponse, ReadFirst, Send, Sleep, Timeouts

_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30)


def map_transport_error(exc: httpx.HTTPError) -> APIConnectionError:
    """A typed error for an httpx failure (the message names no URL query, header or key)."""
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__.replace("Timeout", " timeout").strip().lower()
        return APITimeoutError(f"{kind or 'timeout'} talking to the provider")
    if isinstance(exc, httpx.LocalProtocolError):
        # h11 quotes the offending header value (an auth header, i.e. the key): never repeat it.
        return APIConnectionError("connection failed: the request could not be sent (invalid request line or header; values not shown)")
    detail = str(exc) or type(exc).__name__
    return APIConnectionError(f"connection failed: {detail}")


def _send_error(exc: Exception, request: HttpRequest) -> VVLLMError:
    """The typed error for a request that could not be sent: a header HTTP cannot carry is named
    (never its value, which may be the key); anything else is a transport failure."""
    for name, value in request.headers.items():
        if not value.isascii() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            return InvalidRequestError(
                f"request header {name!r} has a value HTTP cannot carry (a line break, control or non-ASCII character; "
                "the value is not shown): check the endpoint's api_key and headers, and extra_headers"
            )
    if isinstance(exc, httpx.HTTPError):
        return map_transport_error(exc)
    return APIConnectionError(f"connection failed: the request could not be encoded ({type(exc).__name__})")


def deadline_error() -> APITimeoutError:
    """The call's deadline passed while its answer was still arriving (not retried: no time is left)."""
    error = APITimeoutError("the call's deadline passed while the answer was still arriving")
    error.retryable = False  # type: ignore[misc]
    return error


def _until(chunks: Iterator[bytes], deadline: float) -> Iterator[bytes]:
    """``chunks`` until ``deadline``: bytes that keep arriving (SSE keep-alive comments, a slow
    trickle) do not hold a call past it, as each read's own timeout alone would."""
    for data in chunks:
        if time.monotonic() >= deadline:
            raise deadline_error()
        yield data


async def _until_async(chunks: AsyncIterator[bytes], deadline: float) -> AsyncIterator[bytes]:
    """As :func:`_until`, also ending a read that is still waiting when the deadline comes.

    Checked once per network read: every event of a read is in memory when it is decoded, so
    none waits on the network after the check. ``asyncio.timeout`` arms a timer on the loop
    (``wait_for`` wrapped each read in a task of its own, several times the cost of the read)."""
    iterator = chunks.__aiter__()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise deadline_error()
        timer = asyncio.timeout(left)
        try:
            async with timer:
                data = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            if timer.expired():
                raise deadline_error() from None
            raise
        yield data


def _httpx_timeout(t: Timeouts) -> httpx.Timeout:
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.read, pool=t.read)


def _undecoded(response: httpx.Response) -> bool:
    """True when the body is not content-encoded: ``iter_raw`` then yields exactly what
    ``iter_bytes`` would, without its decoder layer (~0.2 µs of a streamed chunk's ~9)."""
    return response.headers.get("content-encoding", "identity").strip().lower() == "identity"


def _up_to_output(pending: Iterable[Any], deltas: list[Any], opened: OpenedResponse) -> bool:
    """Move ``pending`` deltas into ``deltas`` up to the first that carries output (→ True); the
    ones after it stay undecoded in ``opened.rest`` for the stream to take."""
    pending = iter(pending)
    for delta in pending:
        deltas.append(delta)
        if delta.content or delta.reasoning_content or delta.tool_calls or delta.finish_reason:
            opened.rest = pending
            return True
    return False


class _Requests:
    """Builds each call's ``httpx.Request`` the cheapest way httpx's public API allows, and sends it.

    ``client.build_request`` parses the URL string (~20-30 µs, more than the rest of a call's own
    work), merges the client's default headers into a fresh ``Headers`` and has ``Request`` work
    out its Host and Content-Length every time. An endpoint's URL and headers repeat call after
    call, so the parsed ``httpx.URL`` and the merged header list are kept, and a POST of bytes is
    made from them as the exact request ``build_request`` would make (same header list, body and
    timeouts; ``tests/unit/engine/test_request_building.py`` holds the two side by side). That is
    for our own clients, which have no base URL, params, auth or default cookies; a client the
    caller gave, or one that has received cookies, still goes through ``build_request``.
    """

    _given: Any

    def __init__(self) -> None:
        self._timeouts: dict[tuple[float, float], tuple[httpx.Timeout, dict[str, float | None]]] = {}
        self._urls: dict[str, httpx.URL] = {}
        self._headers: dict[tuple[tuple[str, str], ...], tuple[httpx.Headers, list[tuple[bytes, bytes]], bool, bool]] = {}

    def _timeout(self, t: Timeouts) -> tuple[httpx.Timeout, dict[str, float | None]]:
        key = (t.connect, t.read)
        timeout = self._timeouts.get(key)
        if timeout is None:
            made = _httpx_timeout(t)
            timeout = (made, made.as_dict())
            if len(self._timeouts) < 64:  # deadline-shortened timeouts are one-offs: do not keep them all
                self._timeouts[key] = timeout
        return timeout

    def request(self, client: httpx.Client | httpx.AsyncClient, r: HttpRequest, t: Timeouts) -> httpx.Request:
        url = self._urls.get(r.url)
        if url is None:
            url = httpx.URL(r.url)
            if len(self._urls) < 256:
                self._urls[r.url] = url
        timeout, timeout_dict = self._timeout(t)
        if client is self._given or client.cookies:
            return client.build_request(r.method, url, headers=r.headers, content=r.body, timeout=timeout)
        key = tuple(r.headers.items())
        merged = self._headers.get(key)
        if merged is None:
            headers = httpx.Headers(client.headers)  # what build_request merges: httpx's defaults, ours over them
            headers.update(r.headers)
            merged = (headers, headers.raw, "host" in headers, "content-length" in headers or "transfer-encoding" in headers)
            if len(self._headers) < 64:  # per-call extra_headers vary: do not keep them all
                self._headers[key] = merged
        headers, raw, has_host, has_length = merged
        body = r.body
        if r.method != "POST" or type(body) is not bytes:
            # Request copies the headers it is given (the kept ones are never changed).
            return httpx.Request(r.method, url, headers=headers, content=body, extensions={"timeout": timeout_dict})
        # What Request(content=body) adds: Host first (unless given), Content-Length last (unless given).
        items = [(b"Host", url.netloc), *raw] if not has_host else list(raw)
        if not has_length:
            items.append((b"Content-Length", str(len(body)).encode("ascii")))
        request = httpx.Request(
            "POST", url, headers=httpx.Headers(items), stream=httpx.ByteStream(body), extensions={"timeout": timeout_dict}
        )
        request.read()  # request.content, as after Request(content=body): the same bytes, not copied
        return request

    def _direct(self, client: httpx.Client | httpx.AsyncClient, request: httpx.Request) -> Any:
        """The transport ``client.send(request)`` ends at, when nothing else it does applies to
        ``request``: our own clients have no auth, event hooks or redirect following, and until a
        provider sets a cookie, no cookies. Handing the request to it directly skips ``send``'s
        layers (~60-130 µs a call: more than all of vv-llm's own work). None for a client the caller
        gave, one holding cookies, or a URL with credentials in it (``send`` makes them basic auth):
        those go through ``send``. Not done either: httpx's INFO log line per request (which would
        show a URL's query) and ``response.elapsed``. The transport is found by httpx's own
        (private) ``_transport_for_url``: an httpx without it sends everything through ``send``."""
        route = getattr(client, "_transport_for_url", None)
        if route is None or client is self._given or client.cookies or request.url.userinfo:
            return None
        return route(request.url)

    def send(self, client: httpx.Client, request: httpx.Request, stream: bool = False) -> httpx.Response:
        """``client.send(request, stream=stream)``, directly on its transport where that is the same."""
        transport = self._direct(client, request)
        if transport is None:
            return client.send(request, stream=stream)
        response = transport.handle_request(request)
        _sent(client, request, response)
        if not stream:
            try:
                response.read()
            except BaseException:
                response.close()
                raise
        return response

    async def asend(self, client: httpx.AsyncClient, request: httpx.Request, stream: bool = False) -> httpx.Response:
        """``await client.send(request, stream=stream)``, directly on its transport where that is the same."""
        transport = self._direct(client, request)
        if transport is None:
            return await client.send(request, stream=stream)
        response = await transport.handle_async_request(request)
        _sent(client, request, response)
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response


def _sent(client: httpx.Client | httpx.AsyncClient, request: httpx.Request, response: httpx.Response) -> None:
    """What ``send`` does with a response besides timing and logging it: tie it to its request and
    keep the cookies it sets (the client's later requests then carry them, through ``send``)."""
    response.request = request
    if "set-cookie" in response.headers:
        client.cookies.extract_cookies(response)


class SyncTransport(_Requests):
    """Shares one ``httpx.Client`` per proxy across all sync clients (thread-safe)."""

    def __init__(self, http_client: httpx.Client | None = None):
        super().__init__()
        self._own: dict[str | None, httpx.Client] = {}
        self._given = http_client
        self._lock = threading.Lock()

    def client(self, proxy: str | None) -> httpx.Client:
        if self._given is not None:
            return self._given
        client = self._own.get(proxy)
        if client is None:
            with self._lock:
                client = self._own.get(proxy)
                if client is None:
                    client = httpx.Client(proxy=proxy, limits=_LIMITS, timeout=None)
                    self._own[proxy] = client
        return client

    def perform(self, effect: Any) -> Any:
        kind = type(effect)
        if kind is Send:
            client = self.client(effect.proxy)
            r = effect.request
            try:
                request = self.request(client, r, effect.timeouts)
                if effect.deadline is None:
                    response = self.send(client, request)
                    return HttpResponse(response.status_code, response.headers, response.content)
                response = self.send(client, request, stream=True)
                try:
                    body = b"".join(_until(response.iter_bytes(), effect.deadline))
                finally:
                    response.close()
                return HttpResponse(response.status_code, response.headers, body)
            except (httpx.HTTPError, UnicodeError) as exc:
                raise _send_error(exc, r) from None
        if kind is Open:
            client = self.client(effect.proxy)
            r = effect.request
            try:
                response = self.send(client, self.request(client, r, effect.timeouts), stream=True)
                if response.status_code >= 400:
                    try:
                        body = response.read()
                    finally:
                        response.close()
                    return OpenedResponse(response.status_code, response.headers, response, None, body)
            except (httpx.HTTPError, UnicodeError) as exc:
                raise _send_error(exc, r) from None
            chunks = response.iter_raw() if _undecoded(response) else response.iter_bytes()
            if effect.deadline is not None:
                chunks = _until(chunks, effect.deadline)
            return OpenedResponse(response.status_code, response.headers, response, chunks)
        if kind is ReadFirst:
            opened = effect.opened
            decoder = effect.decoder
            deltas: list[Any] = []
            try:
                for data in opened.chunks:
                    if _up_to_output(decoder.deltas(data), deltas, opened) or decoder.done:
                        return deltas
                deltas += decoder.close()
                return deltas
            except httpx.HTTPError as exc:
                opened.response.close()
                raise map_transport_error(exc) from None
            except BaseException:
                opened.response.close()
                raise
        if kind is Sleep:
            time.sleep(effect.seconds)
            return None
        if kind is Blocking:
            return effect.fn()
        raise TypeError(f"unknown effect {effect!r}")

    def close(self) -> None:
        for client in self._own.values():
            client.close()
        self._own.clear()


class AsyncTransport(_Requests):
    """One ``httpx.AsyncClient`` per event loop and proxy (async clients cannot cross loops)."""

    def __init__(self, http_client: httpx.AsyncClient | None = None):
        super().__init__()
        self._given = http_client
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str | None, httpx.AsyncClient]] = (
            weakref.WeakKeyDictionary()
        )

    def client(self, proxy: str | None) -> httpx.AsyncClient:
        if self._given is not None:
            return self._given
        loop = asyncio.get_running_loop()
        clients = self._per_loop.get(loop)
        if clients is None:
            clients = self._per_loop[loop] = {}
        client = clients.get(proxy)
        if client is None:
            client = clients[proxy] = httpx.AsyncClient(proxy=proxy, limits=_LIMITS, timeout=None)
        return client

    async def perform(self, effect: Any) -> Any:
        kind = type(effect)
        if kind is Send:
            client = self.client(effect.proxy)
            r = effect.request
            try:
                sending = self.asend(client, self.request(client, r, effect.timeouts))
                if effect.deadline is None:
                    response = await sending
                else:
                    try:
                        response = await asyncio.wait_for(sending, max(0.0, effect.deadline - time.monotonic()))
                    except TimeoutError:
                        raise deadline_error() from None
            except (httpx.HTTPError, UnicodeError) as exc:
                raise _send_error(exc, r) from None
            return HttpResponse(response.status_code, response.headers, response.content)
        if kind is Open:
            client = self.client(effect.proxy)
            r = effect.request
            try:
                response = await self.asend(client, self.request(client, r, effect.timeouts), stream=True)
                if response.status_code >= 400:
                    try:
                        body = await response.aread()
                    finally:
                        await response.aclose()
                    return OpenedResponse(response.status_code, response.headers, response, None, body)
            except (httpx.HTTPError, UnicodeError) as exc:
                raise _send_error(exc, r) from None
            chunks = response.aiter_raw() if _undecoded(response) else response.aiter_bytes()
            if effect.deadline is not None:
                chunks = _until_async(chunks, effect.deadline)
            return OpenedResponse(response.status_code, response.headers, response, chunks)
        if kind is ReadFirst:
            opened = effect.opened
            decoder = effect.decoder
            deltas: list[Any] = []
            try:
                async for data in opened.chunks:
                    if _up_to_output(decoder.deltas(data), deltas, opened) or decoder.done:
                        return deltas
                deltas += decoder.close()
                return deltas
            except httpx.HTTPError as exc:
                await opened.response.aclose()
                raise map_transport_error(exc) from None
            except BaseException:
                await opened.response.aclose()
                raise
        if kind is Sleep:
            await asyncio.sleep(effect.seconds)
            return None
        if kind is Blocking:
            return await asyncio.to_thread(effect.fn)
        raise TypeError(f"unknown effect {effect!r}")


def run_sync(plan: Any, transport: SyncTransport) -> Any:
    """Drive a plan to its result with blocking I/O.

    Every failure goes back into the plan (typed errors to decide on retry; anything else, and
    interrupts, so it frees what it holds — rate-limit slots — before the failure propagates).
    """
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = plan.throw(error) if error is not None else plan.send(value)
        except StopIteration as stop:
            return stop.value
        try:
            value, error = transport.perform(effect), None
        except BaseException as exc:
            value, error = None, exc


async def run_async(plan: Any, transport: AsyncTransport) -> Any:
    """Drive a plan to its result on the running event loop (failures go back into the plan,
    cancellation included)."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = plan.throw(error) if error is not None else plan.send(value)
        except StopIteration as stop:
            return stop.value
        try:
            value, error = await transport.perform(effect), None
        except BaseException as exc:
            value, error = None, exc


_sync_transport: SyncTransport | None = None
_async_transport: AsyncTransport | None = None


def shared_sync_transport() -> SyncTransport:
    global _sync_transport
    if _sync_transport is None:
        _sync_transport = SyncTransport()
    return _sync_transport


def shared_async_transport() -> AsyncTransport:
    global _async_transport
    if _async_transport is None:
        _async_transport = AsyncTransport()
    return _async_transport
