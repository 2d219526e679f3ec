"""The call plan, written once for every provider and for both sync and async clients.

A plan is a generator: it yields effects (``effects.py``) — send this, sleep that long, run this
blocking function — and receives their results. ``run_sync`` and ``run_async`` drive it. Endpoint
choice, failover, retry, rate limits and credentials refresh live here and nowhere else.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.adapters import adapter_for
from vv_llm.chat_clients.adapters.base import Adapter, CallParams
from vv_llm.chat_clients.shaping import CallOptions, Shaped, call_options, shape_call
from vv_llm.chat_clients.stream_check import BodySample, SniffedStream, stream_kind
from vv_llm.chat_clients.structured import ToolAsContent
from vv_llm.errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidRequestError,
    ProviderError,
    RateLimited,
    SettingsError,
    VVLLMError,
)
from vv_llm.types.effects import Blocking, Open, OpenedResponse, ReadFirst, Send, Sleep, Timeouts
from vv_llm.utilities.context import fit_context
from vv_llm.utilities.endpoint_choice import choose_endpoint, cooldowns
from vv_llm.utilities.messages import has_images, prepare_messages
from vv_llm.utilities.rate_limit import gate_for
from vv_llm.utilities.retry import RetryPolicy

if TYPE_CHECKING:
    from vv_llm.chat_clients.adapters.base import StreamDecoder
    from vv_llm.settings.store import ResolvedEndpoint, ResolvedModel, Settings
    from vv_llm.types.enums import BackendType
    from vv_llm.types.messages import ChatCompletionDeltaMessage, ChatCompletionMessage

Plan = Generator[Any, Any, Any]


@dataclass(slots=True)
class PreparedCall:
    resolved: ResolvedModel
    params: CallParams
    deadline: float | None
    """``time.monotonic()`` by which the call must be done (each attempt's timeouts are clamped to it)."""
    timeouts: Timeouts | None
    """Per-call timeouts; None → each endpoint's own."""
    trimmed: list[dict[str, Any]] | None = None
    """Messages that context control dropped to fit the window, if any."""
    retry: RetryPolicy | None = None
    """Per-call retry policy (``max_retries``); None → the settings'."""
    options: CallOptions | None = None
    """The caller's provider options and response_format, shaped per endpoint (``shaping``)."""


@dataclass(slots=True)
class OpenedStream:
    opened: OpenedResponse
    decoder: StreamDecoder
    first: list[ChatCompletionDeltaMessage]
    adapter: Adapter
    ticket: Any
    shaped: Shaped | None = None


class CallEngine:
    """Everything a client does around its adapters."""

    def __init__(self, backend: BackendType, settings: Settings, endpoint_id: str | None = None):
        self.backend = backend
        self.settings = settings
        self.endpoint_id = endpoint_id
        self._generation = -1
        self._adapters: dict[str, Adapter] = {}
        self._resolved: dict[str, ResolvedModel] = {}
        self._retry = RetryPolicy()
        self._cooldown = 30.0
        self._timeouts = Timeouts(10.0, 600.0)
        self._total: float | None = None
        self._gate: Any = None

    # -- settings-derived state, rebuilt only when settings change -----------------------
    def _refresh(self) -> None:
        model = self.settings.model
        self._gate = gate_for(model)  # first: when it raises (its store's package missing), nothing is half-refreshed
        self._generation = self.settings.generation
        self._adapters = {}
        self._resolved = {}
        retry = model.retry
        self._retry = RetryPolicy(retry.max_attempts, retry.backoff_initial, retry.backoff_max)
        self._cooldown = retry.cooldown_seconds
        self._timeouts = Timeouts(model.timeouts.connect, model.timeouts.read)
        self._total = model.timeouts.total

    def resolve(self, model: str | None) -> ResolvedModel:
        if self._generation != self.settings.generation:
            self._refresh()
        key = model or ""
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = self.settings.resolve(self.backend, model)
            if self.endpoint_id is not None:
                pinned = tuple(e for e in resolved.endpoints if e.id == self.endpoint_id)
                if not pinned:
                    served = ", ".join(e.id for e in resolved.endpoints)
                    raise SettingsError(
                        [("endpoint_id", f"endpoint {self.endpoint_id!r} does not serve model {resolved.name!r}; its endpoints: {served}")]
                    )
                from dataclasses import replace

                resolved = replace(resolved, endpoints=pinned)
            self._resolved[key] = resolved
        return resolved

    def adapter(self, endpoint: ResolvedEndpoint) -> Adapter:
        adapter = self._adapters.get(endpoint.id)
        if adapter is None:
            adapter = adapter_for(self.backend, endpoint)
            self._adapters[endpoint.id] = adapter
        return adapter

    def check_credentials(self, model: str | None) -> None:
        """Build every endpoint's adapter now, so credential problems surface at client creation."""
        try:
            resolved = self.resolve(model)
        except (SettingsError, VVLLMError):
            return  # reported when a call names a model
        for endpoint in resolved.endpoints:
            self.adapter(endpoint)

    # -- preparing a call ----------------------------------------------------------------
    def _answer_room(self, params: CallParams, resolved: ResolvedModel) -> int | None:
        """The most ``max_tokens`` any of the model's endpoints will send (protocols that require
        one send a default), which the prompt must leave free in the context window."""
        room = None
        for endpoint in resolved.endpoints:
            params.model_id = endpoint.model_id  # set for real per attempt; Bedrock's default depends on it
            answer = self.adapter(endpoint).answer_room(params)
            if answer is not None and (room is None or answer > room):
                room = answer
        params.model_id = ""
        return room

    def prepare(self, messages: Any, model: str | None, stream: bool, options: dict[str, Any]) -> PreparedCall:
        resolved = self.resolve(model)
        setting = resolved.setting
        messages = prepare_messages(messages)
        if setting.native_multimodal is False and has_images(messages):
            raise InvalidRequestError(
                f"model {resolved.name!r} does not accept images (native_multimodal is false in its settings); "
                "remove the image parts or choose a multimodal model"
            )
        max_tokens = options.get("max_tokens")
        if max_tokens is not None and setting.max_output_tokens and max_tokens > setting.max_output_tokens:
            max_tokens = setting.max_output_tokens
        extra_body = dict(options.get("extra_body") or {})
        timeout = options.get("timeout")
        params = CallParams(
            messages=messages,
            model_id="",
            stream=stream,
            temperature=options.get("temperature"),
            top_p=options.get("top_p"),
            max_tokens=max_tokens,
            max_output_tokens=setting.max_output_tokens,
            tools=options.get("tools") or None,
            tool_choice=options.get("tool_choice"),
            response_format=options.get("response_format"),
            stop=options.get("stop"),
            thinking=options.get("thinking"),
            reasoning_effort=options.get("reasoning_effort"),
            adaptive_thinking=bool(setting.adaptive_thinking),
            prompt_cache=bool(options.get("prompt_cache")),
            extra_body=extra_body,
            extra_headers=dict(options.get("extra_headers") or {}),
        )
        trimmed = None
        if not options.get("skip_cutoff") and setting.context_length:
            params.messages, trimmed = fit_context(messages, resolved, self._answer_room(params, resolved), params.tools)
        total = options.get("deadline", self._total)
        if total is not None and not _positive(total):
            raise InvalidRequestError(f"deadline must be a positive number of seconds (got {total!r})")
        retry = None
        max_retries = options.get("max_retries")
        if max_retries is not None:
            if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
                raise InvalidRequestError(f"max_retries must be a whole number >= 0 (got {max_retries!r})")
            retry = RetryPolicy(max_retries + 1, self._retry.backoff_initial, self._retry.backoff_max)
        return PreparedCall(
            resolved=resolved,
            params=params,
            deadline=time.monotonic() + total if total else None,
            timeouts=self._call_timeouts(timeout) if timeout is not None else None,
            trimmed=trimmed,
            retry=retry,
            options=call_options(options, resolved),
        )

    def _call_timeouts(self, timeout: Any) -> Timeouts:
        """``timeout=`` seconds (read; connect at most that), or a ``(connect, read)`` pair."""
        if isinstance(timeout, (tuple, list)) and len(timeout) == 2 and all(_positive(t) for t in timeout):
            return Timeouts(float(timeout[0]), float(timeout[1]))
        if _positive(timeout):
            return Timeouts(min(float(timeout), self._timeouts.connect), float(timeout))
        raise InvalidRequestError(f"timeout must be positive seconds or a (connect, read) pair of them (got {timeout!r})")

    # -- the plans -----------------------------------------------------------------------
    def completion_plan(self, call: PreparedCall) -> Plan:
        """→ ChatCompletionMessage."""
        return self._attempts(call, stream=False)

    def stream_plan(self, call: PreparedCall) -> Plan:
        """→ OpenedStream, failing over until the first output delta has arrived."""
        return self._attempts(call, stream=True)

    def count_plan(self, call: PreparedCall) -> Plan:
        """→ int: the prompt's tokens from the provider's own count endpoint (one endpoint, no retry;
        protocols without one raise InvalidRequestError)."""
        endpoint = choose_endpoint(call.resolved.endpoints, [])
        adapter = self.adapter(endpoint)
        try:
            if adapter.refresh_due():
                yield Blocking(adapter.refresh)
            call.params.model_id = endpoint.model_id
            request = adapter.count_request(call.params)
            response = yield Send(request, call.timeouts or self._endpoint_timeouts(endpoint), endpoint.endpoint.proxy)
            if response.status >= 400:
                raise adapter.error_from_response(response)
            return adapter.parse_count(response)
        except ProviderError as error:
            self._annotate(error, adapter, endpoint)
            raise

    def _attempts(self, call: PreparedCall, stream: bool) -> Plan:
        """Choose an endpoint, pass the rate-limit gate, send; on a retryable failure before any
        output, fail over at once to an endpoint not yet tried, else back off and retry."""
        endpoints = call.resolved.endpoints
        gate = self._gate
        tried: list[str] = []
        ready_at: dict[str, float] = {}  # endpoint id → when its Retry-After is over
        retries = None
        while True:
            if len(tried) < len(endpoints):
                endpoint = choose_endpoint(endpoints, tried)
            else:  # every endpoint failed once: retry them in turn, the longest-failed first
                tried.append(tried.pop(0))
                endpoint = next(e for e in endpoints if e.id == tried[-1])
            adapter = self.adapter(endpoint)
            ticket = None
            clamped = False
            shaped = None
            # With somewhere else to go, a full endpoint is skipped rather than waited for.
            elsewhere = gate.active and any(e.id not in tried and e is not endpoint for e in endpoints)
            try:
                call.params.model_id = endpoint.model_id
                params = call.params
                if call.options is not None:  # before a rate-limit slot is taken: it may refuse the call
                    shaped = shape_call(call.options, params, adapter, endpoint, call.resolved, tried)
                    params = shaped.params
                if gate.active:
                    ticket = yield from gate.acquire(endpoint, call, wait=not elsewhere)
                if adapter.refresh_due():
                    yield Blocking(adapter.refresh)
                timeouts, clamped = self._attempt_timeouts(call, endpoint)
                request = adapter.build_request(params)
                if not stream:
                    response = yield Send(request, timeouts, endpoint.endpoint.proxy, call.deadline)
                    if response.status >= 400:
                        raise adapter.error_from_response(response)
                    message: ChatCompletionMessage = adapter.parse_response(response)
                    message.trimmed_messages = call.trimmed
                    if ticket is not None:
                        yield from gate.finish(ticket, message.usage)
                    cooldowns.recovered(endpoint.id)
                    if shaped is not None:
                        message.request_report = shaped.report
                        if shaped.plan is not None:
                            shaped.plan.finish(message)
                    return message
                opened: OpenedResponse = yield Open(request, timeouts, endpoint.endpoint.proxy, call.deadline)
                if opened.status >= 400:
                    raise adapter.error_from_response(opened)  # type: ignore[arg-type]
                kind = stream_kind(adapter, opened.status, opened.headers)
                if kind == "not-stream":
                    yield ReadFirst(opened, BodySample(adapter, opened.status, opened.headers))  # raises what it was
                decoder = adapter.stream_decoder()
                if shaped is not None and shaped.plan is not None and shaped.plan.mechanism == "tool":
                    decoder = ToolAsContent(decoder, shaped.plan)
                if kind == "doubtful":
                    decoder = SniffedStream(decoder, adapter, opened.headers)
                first = yield ReadFirst(opened, decoder)
                if not decoder.done and not _has_output(first):
                    if isinstance(decoder, SniffedStream):
                        raise decoder.error()
                    raise APIConnectionError("the stream ended before any output")
                if isinstance(decoder, SniffedStream):
                    decoder = decoder.decoder
                cooldowns.recovered(endpoint.id)
                return OpenedStream(opened, decoder, first, adapter, ticket, shaped)
            except RateLimited:
                if ticket is not None or not elsewhere:
                    raise
                tried.append(endpoint.id)  # full for now; try the others first
            except ProviderError as error:
                if ticket is not None:
                    ticket.release()
                self._annotate(error, adapter, endpoint)
                if shaped is not None:
                    error.request_report = shaped.report
                if error.status is None and isinstance(error, APITimeoutError) and clamped:
                    error.message += " (the call's deadline was reached)"
                    raise
                if not error.retryable or (call.deadline is not None and time.monotonic() >= call.deadline):
                    raise
                cooldowns.mark(endpoint.id, error.retry_after if error.retry_after is not None else self._cooldown)
                if error.retry_after is not None:
                    ready_at[endpoint.id] = time.monotonic() + error.retry_after
                if endpoint.id not in tried:
                    tried.append(endpoint.id)
                if any(e.id not in tried for e in endpoints):
                    continue  # fail over at once
                if retries is None:
                    retries = (call.retry or self._retry).start(call.deadline)
                # The next endpoint (tried[0], see above) may have asked for a pause of its own.
                delay = retries.next_delay(error, at_least=ready_at.get(tried[0], 0.0) - time.monotonic())
                if delay is None:
                    raise
                if delay > 0:
                    yield Sleep(delay)
            except BaseException:
                if ticket is not None:
                    ticket.release()
                raise

    def _attempt_timeouts(self, call: PreparedCall, endpoint: ResolvedEndpoint) -> tuple[Timeouts, bool]:
        """This attempt's timeouts, shortened to what is left of the deadline (→ clamped=True)."""
        timeouts = call.timeouts or self._endpoint_timeouts(endpoint)
        if call.deadline is None:
            return timeouts, False
        left = call.deadline - time.monotonic()
        if left <= 0:
            error = APITimeoutError("the call's deadline passed before the request could be sent", endpoint_id=endpoint.id)
            error.retryable = False  # type: ignore[misc]
            raise error
        if left >= timeouts.read and left >= timeouts.connect:
            return timeouts, False
        return Timeouts(min(timeouts.connect, left), min(timeouts.read, left)), True

    def _annotate(self, error: ProviderError, adapter: Adapter, endpoint: ResolvedEndpoint) -> None:
        if error.provider is None:
            error.provider = adapter.provider
        if error.endpoint_id is None:
            error.endpoint_id = endpoint.id
        error.redact(endpoint_secrets(endpoint))

    def _endpoint_timeouts(self, endpoint: ResolvedEndpoint) -> Timeouts:
        if endpoint.endpoint.timeout:
            return Timeouts(min(self._timeouts.connect, endpoint.endpoint.timeout), endpoint.endpoint.timeout)
        return self._timeouts

    @staticmethod
    def settle(ticket: Any, usage: Any) -> None:
        """A stream ended (completed, failed or abandoned): settle its rate-limit ticket (idempotent)."""
        if ticket is not None:
            ticket.settle(usage)

    @staticmethod
    def settle_blocks(ticket: Any) -> bool:
        """Whether ``settle(ticket, ...)`` does I/O (async streams then run it in a thread)."""
        return ticket is not None and ticket.blocking


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and value == value


def _has_output(deltas: list[Any]) -> bool:
    return any(d.content or d.reasoning_content or d.tool_calls or d.finish_reason for d in deltas)


def endpoint_secrets(endpoint: ResolvedEndpoint) -> list[str]:
    """The endpoint's key and credentials, to scrub from anything a provider echoes back."""
    setting = endpoint.endpoint
    secrets = [setting.secret_key() or ""]
    credentials = setting.credentials
    for name in ("secret_access_key", "session_token", "access_key_id"):
        value = getattr(credentials, name, None)
        if value is not None:
            secrets.append(value.get_secret_value())
    return secrets
