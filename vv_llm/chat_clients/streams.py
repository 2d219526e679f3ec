"""Stream objects returned by ``create_stream``: iterate for deltas, ``.message`` for the whole reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from vv_llm.chat_clients.accumulator import StreamAccumulator
from vv_llm.chat_clients.engine import endpoint_secrets
from vv_llm.chat_clients.transport import map_transport_error, run_async, run_sync
from vv_llm.errors import PartialStreamError, ProviderError
from vv_llm.types.messages import ChatCompletionDeltaMessage, ChatCompletionMessage

if TYPE_CHECKING:
    from vv_llm.chat_clients.engine import CallEngine, OpenedStream, PreparedCall
    from vv_llm.chat_clients.transport import AsyncTransport, SyncTransport


class _StreamState:
    """What sync and async streams share: accumulation, and how a stream ends or fails."""

    def __init__(self, engine: CallEngine, call: PreparedCall):
        self._engine = engine
        self._call = call
        self._acc: StreamAccumulator | None = None
        self._opened: OpenedStream | None = None
        self._final: ChatCompletionMessage | None = None
        self.trimmed_messages = call.trimmed

    @property
    def message(self) -> ChatCompletionMessage:
        """Everything received so far, as one message (complete once iteration ends; with
        ``response_format``, the final message carries ``parsed``)."""
        if self._final is not None:
            return self._final
        if self._acc is None:
            return ChatCompletionMessage(trimmed_messages=self.trimmed_messages)
        message = self._acc.message()
        message.trimmed_messages = self.trimmed_messages
        message.request_report = self.request_report
        return message

    @property
    def request_report(self) -> Any:
        """What the provider received (endpoint, model id, each option's fate), once the stream opened."""
        shaped = self._opened.shaped if self._opened else None
        return shaped.report if shaped is not None else None

    @property
    def endpoint_id(self) -> str | None:
        return self._opened.adapter.endpoint.id if self._opened else None

    def _start(self, opened: OpenedStream) -> StreamAccumulator:
        self._opened = opened
        self._acc = opened.decoder.acc  # the decoder adds each delta as it makes it
        return self._acc

    def _failure(self, error: BaseException) -> PartialStreamError:
        assert self._opened is not None and self._acc is not None
        adapter = self._opened.adapter
        if isinstance(error, httpx.HTTPError):
            error = map_transport_error(error)
        info: dict[str, Any] = {"provider": adapter.provider, "endpoint_id": adapter.endpoint.id}
        secrets = endpoint_secrets(adapter.endpoint)
        if isinstance(error, ProviderError):
            error.redact(secrets)  # it becomes the cause: its text shows in tracebacks
            info.update(status=error.status, request_id=error.request_id, body=error.body)
        partial = PartialStreamError(
            f"stream interrupted after {self._acc.chunks} chunks; partial output kept: {error}",
            partial=self._acc.message(),
            chunks=[],
            **info,
        )
        partial.redact(secrets)
        partial.request_report = self.request_report
        return partial

    def _finish(self) -> None:
        assert self._opened is not None and self._acc is not None
        if not self._opened.decoder.done:
            adapter = self._opened.adapter
            error = PartialStreamError(
                f"stream ended before the provider finished it (after {self._acc.chunks} chunks); partial output kept",
                partial=self._acc.message(),
                provider=adapter.provider,
                endpoint_id=adapter.endpoint.id,
            )
            error.request_report = self.request_report
            raise error
        shaped = self._opened.shaped
        if shaped is not None and shaped.plan is not None:
            self._final = shaped.plan.finish(self.message)  # raises StructuredOutputError, the raw text kept


class ChatStream(_StreamState):
    """``for delta in stream`` yields :class:`ChatCompletionDeltaMessage`; a failure after output
    has arrived raises :class:`PartialStreamError` holding it."""

    def __init__(self, engine: CallEngine, call: PreparedCall, transport: SyncTransport):
        super().__init__(engine, call)
        self._transport = transport
        self._iterator: Iterator[ChatCompletionDeltaMessage] | None = None

    def __iter__(self) -> Iterator[ChatCompletionDeltaMessage]:
        if self._iterator is None:
            self._iterator = self._iterate()
        return self._iterator

    def __next__(self) -> ChatCompletionDeltaMessage:
        return next(iter(self))

    def _iterate(self) -> Iterator[ChatCompletionDeltaMessage]:
        opened = run_sync(self._engine.stream_plan(self._call), self._transport)
        acc = self._start(opened)
        decoder = opened.decoder
        try:
            yield from opened.first
            if opened.opened.rest is not None:
                yield from opened.opened.rest
            if not decoder.done:
                for data in opened.opened.chunks:
                    yield from decoder.deltas(data)
                yield from decoder.close()
        except (httpx.HTTPError, ProviderError) as error:
            raise self._failure(error) from error
        finally:
            # Completed, failed, or abandoned (closed / garbage-collected): the rate-limit ticket
            # is settled once with what usage arrived.
            opened.opened.response.close()
            self._engine.settle(opened.ticket, acc.usage)
        self._finish()

    def close(self) -> None:
        """Stop reading and release the connection."""
        if self._iterator is not None:
            self._iterator.close()  # type: ignore[attr-defined]

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncChatStream(_StreamState):
    """``async for delta in stream``. Also awaitable (``await client.create_stream(...)`` returns it)."""

    def __init__(self, engine: CallEngine, call: PreparedCall, transport: AsyncTransport):
        super().__init__(engine, call)
        self._transport = transport
        self._iterator: AsyncIterator[ChatCompletionDeltaMessage] | None = None

    def __aiter__(self) -> AsyncIterator[ChatCompletionDeltaMessage]:
        if self._iterator is None:
            self._iterator = self._iterate()
        return self._iterator

    async def __anext__(self) -> ChatCompletionDeltaMessage:
        return await self.__aiter__().__anext__()

    def __await__(self) -> Any:
        async def itself() -> AsyncChatStream:
            return self

        return itself().__await__()

    async def _iterate(self) -> AsyncIterator[ChatCompletionDeltaMessage]:
        opened = await run_async(self._engine.stream_plan(self._call), self._transport)
        acc = self._start(opened)
        decoder = opened.decoder
        try:
            for delta in opened.first:
                yield delta
            if opened.opened.rest is not None:
                for delta in opened.opened.rest:
                    yield delta
            if not decoder.done:
                async for data in opened.opened.chunks:
                    for delta in decoder.deltas(data):
                        yield delta
                for delta in decoder.close():
                    yield delta
        except (httpx.HTTPError, ProviderError) as error:
            raise self._failure(error) from error
        finally:
            await opened.opened.response.aclose()
            if self._engine.settle_blocks(opened.ticket):
                await asyncio.to_thread(self._engine.settle, opened.ticket, acc.usage)
            else:
                self._engine.settle(opened.ticket, acc.usage)
        self._finish()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        if self._iterator is not None:
            await self._iterator.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
