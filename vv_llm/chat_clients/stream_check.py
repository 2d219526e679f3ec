"""Telling a stream from an answer that only looks like one.

A stream request answered 200 with an event stream is read as usual. Anything else that is not an
HTTP error — a 204, a redirect, an HTML page from a proxy, a JSON body of some other shape — is a
:class:`~vv_llm.errors.ResponseParseError` (or the provider's typed error, when the body is its
error object), never a retryable connection error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.adapters.base import StreamDecoder

if TYPE_CHECKING:
    from vv_llm.chat_clients.accumulator import StreamAccumulator
    from vv_llm.chat_clients.adapters.base import Adapter
    from vv_llm.errors import ProviderError
    from vv_llm.types.messages import ChatCompletionDeltaMessage

SAMPLE_BYTES = 2048
"""How much of an unexpected body is read to say what it was."""


def _media_type(headers: Mapping[str, str]) -> str:
    return (headers.get("content-type") or "").split(";")[0].strip().lower()


def stream_kind(adapter: Adapter, status: int, headers: Mapping[str, str]) -> str:
    """``"stream"`` (read as usual), ``"not-stream"`` (certainly not one: 204, 3xx) or ``"doubtful"``
    (200 without the protocol's stream content type: read it, but say what it was if no output comes)."""
    if status != 200:
        return "not-stream"
    media = _media_type(headers)
    return "stream" if media in adapter.stream_media_types else "doubtful"


def unexpected_answer(adapter: Adapter, status: int, headers: Mapping[str, str], sample: bytes) -> ProviderError:
    """The typed error for a stream request answered by something other than a stream."""
    try:
        payload: Any = json.loads(sample) if sample else None
    except ValueError:
        payload = None
    if isinstance(payload, dict) and payload.get("error"):
        error = adapter.stream_error(payload)
    else:
        media = _media_type(headers) or "no content type"
        where = f", location {headers['location'][:200]!r}" if 300 <= status < 400 and headers.get("location") else ""
        shown = repr(sample[:200]) if sample else "an empty body"
        error = adapter.parse_error(f"a stream was asked for but HTTP {status} ({media}{where}) came back with {shown}")
    error.status = status
    return error


class BodySample(StreamDecoder):
    """Reads the start of a body that is not a stream, then fails with what it was (the
    transport closes the response on the way)."""

    def __init__(self, adapter: Adapter, status: int, headers: Mapping[str, str]):
        self._adapter = adapter
        self._status = status
        self._headers = headers
        self._sample = bytearray()

    def feed(self, data: bytes) -> list[ChatCompletionDeltaMessage]:
        self._sample += data[: SAMPLE_BYTES - len(self._sample)]
        if len(self._sample) >= SAMPLE_BYTES:
            raise unexpected_answer(self._adapter, self._status, self._headers, bytes(self._sample))
        return []

    def close(self) -> list[ChatCompletionDeltaMessage]:
        raise unexpected_answer(self._adapter, self._status, self._headers, bytes(self._sample))


class SniffedStream(StreamDecoder):
    """The protocol's decoder, keeping the first bytes, for a 200 answer without a stream content
    type: if it ends before any output, ``error()`` says what came instead."""

    def __init__(self, decoder: StreamDecoder, adapter: Adapter, headers: Mapping[str, str]):
        self.decoder = decoder
        self._adapter = adapter
        self._headers = headers
        self._sample = bytearray()

    @property
    def done(self) -> bool:  # type: ignore[override]
        return self.decoder.done

    @property
    def acc(self) -> StreamAccumulator:  # type: ignore[override]
        return self.decoder.acc

    def feed(self, data: bytes) -> list[ChatCompletionDeltaMessage]:
        if len(self._sample) < SAMPLE_BYTES:
            self._sample += data[: SAMPLE_BYTES - len(self._sample)]
        return self.decoder.feed(data)

    def close(self) -> list[ChatCompletionDeltaMessage]:
        return self.decoder.close()

    def error(self) -> ProviderError:
        return unexpected_answer(self._adapter, 200, self._headers, bytes(self._sample))
