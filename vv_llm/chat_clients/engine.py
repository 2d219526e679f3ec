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
from vv_llm.chat_clients.effects import Blocking, Open, OpenedResponse, ReadFirst, Send, Sleep, Timeouts
from vv_llm.chat_clients.messages import has_images, prepare_messages
from vv_llm.errors import APITimeoutError, InvalidRequestError, ProviderError, SettingsError, VVLLMError
from vv_llm.utilities.endpoint_choice import choose_endpoint, cooldowns
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
    timeouts: Timeouts | None
    """Per-call timeouts; None → each endpoint's own."""
    trimmed: list[dict[str, Any]] | None = None
    """Messages that context control dropped to fit the window, if any."""


@dataclass(slots=True)
class OpenedStream:
    opened: OpenedResponse
    decoder: StreamDecoder
    first: list[ChatCompletionDeltaMessage]
    adapter: Adapter
    ticket: Any


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
        from vv_llm.utilities.rate_limit import gate_for

        model = self.settings.model
        self._generation = self.settings.generation
        self._adapters = {}
        self._resolved = {}
        retry = model.retry
        self._retry = RetryPolicy(retry.max_attempts, retry.backoff_initial, retry.backoff_max)
        self._cooldown = retry.cooldown_seconds
        self._timeouts = Timeouts(model.timeouts.connect, model.timeouts.read)
        self._total = model.timeouts.total
        self._gate = gate_for(model)

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
        trimmed = None
        if not options.get("skip_cutoff") and setting.context_length:
            from vv_llm.utilities.context import fit_context

            messages, trimmed = fit_context(messages, resolved, max_tokens, options.get("tools"))
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
            prompt_cache=bool(options.get("prompt_cache")),
            extra_body=extra_body,
            extra_headers=dict(options.get("extra_headers") or {}),
        )
        total = options.get("deadline", self._total)
        return PreparedCall(
            resolved=resolved,
            params=params,
            deadline=time.monotonic() + total if total else None,
            timeouts=Timeouts(min(timeout, self._timeouts.connect), timeout) if timeout else None,
            trimmed=trimmed,
        )

    # -- the plans -----------------------------------------------------------------------
    def completion_plan(self, call: PreparedCall) -> Plan:
        """→ ChatCompletionMessage."""
        return self._attempts(call, stream=False)

    def stream_plan(self, call: PreparedCall) -> Plan:
        """→ OpenedStream, failing over until the first output delta has arrived."""
        return self._attempts(call, stream=True)

    def _attempts(self, call: PreparedCall, stream: bool) -> Plan:
        endpoints = call.resolved.endpoints
        failed: list[str] = []
        attempt = 0
        while True:
            attempt += 1
            endpoint = choose_endpoint(endpoints, failed)
            adapter = self.adapter(endpoint)
            if adapter.refresh_due():
                yield Blocking(adapter.refresh)
            ticket = yield from self._gate.acquire(endpoint, call)
            call.params.model_id = endpoint.model_id
            request = adapter.build_request(call.params)
            timeouts = call.timeouts or self._endpoint_timeouts(endpoint)
            try:
                self._check_deadline(call, endpoint, adapter)
                if not stream:
                    response = yield Send(request, timeouts, endpoint.endpoint.proxy)
                    if response.status >= 400:
                        raise adapter.error_from_response(response)
                    message: ChatCompletionMessage = adapter.parse_response(response)
                    self._gate.settle(ticket, message.usage)
                    return message
                opened: OpenedResponse = yield Open(request, timeouts, endpoint.endpoint.proxy)
                if opened.status >= 400:
                    raise adapter.error_from_response(opened)  # type: ignore[arg-type]
                decoder = adapter.stream_decoder()
                first = yield ReadFirst(opened, decoder)
                return OpenedStream(opened, decoder, first, adapter, ticket)
            except ProviderError as error:
                self._gate.release(ticket)
                if error.provider is None:
                    error.provider = adapter.provider
                if error.endpoint_id is None:
                    error.endpoint_id = endpoint.id
                if not error.retryable or attempt >= self._retry.max_attempts:
                    raise
                cooldowns.mark(endpoint.id, self._cooldown)
                if endpoint.id not in failed:
                    failed.append(endpoint.id)
                elsewhere = any(e.id not in failed for e in endpoints)
                delay = 0.0 if elsewhere else self._retry.delay(attempt, error.retry_after)
                if call.deadline is not None and time.monotonic() + delay > call.deadline:
                    raise
                if delay:
                    yield Sleep(delay)

    def _endpoint_timeouts(self, endpoint: ResolvedEndpoint) -> Timeouts:
        if endpoint.endpoint.timeout:
            return Timeouts(min(self._timeouts.connect, endpoint.endpoint.timeout), endpoint.endpoint.timeout)
        return self._timeouts

    @staticmethod
    def _check_deadline(call: PreparedCall, endpoint: ResolvedEndpoint, adapter: Adapter) -> None:
        if call.deadline is not None and time.monotonic() >= call.deadline:
            raise APITimeoutError("the call's deadline passed", provider=adapter.provider, endpoint_id=endpoint.id)

    def settle(self, ticket: Any, usage: Any) -> None:
        self._gate.settle(ticket, usage)
