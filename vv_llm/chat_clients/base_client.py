"""``ChatClient`` and ``AsyncChatClient``: the public faces over one shared ``CallEngine``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

from vv_llm.chat_clients.engine import CallEngine
from vv_llm.chat_clients.streams import AsyncChatStream, ChatStream
from vv_llm.chat_clients.transport import run_async, run_sync, shared_async_transport, shared_sync_transport
from vv_llm.types.enums import BackendType

if TYPE_CHECKING:
    import httpx

    from vv_llm.settings.store import ResolvedModel, Settings
    from vv_llm.types.messages import ChatCompletionMessage

_OPTION_NAMES = (
    "temperature",
    "max_tokens",
    "tools",
    "tool_choice",
    "response_format",
    "stop",
    "top_p",
    "thinking",
    "reasoning_effort",
    "prompt_cache",
    "skip_cutoff",
    "timeout",
    "deadline",
    "max_retries",
    "extra_body",
    "extra_headers",
    "unsupported",
)
_CALL_ONLY = ("stream", "messages")
"""Arguments a call takes that make no sense as a client's defaults."""
_MERGED = ("extra_body", "extra_headers")
"""Options whose call-level value is merged into the client's default rather than replacing it."""


def call_defaults(defaults: dict[str, Any]) -> dict[str, Any]:
    """A client's keyword arguments as defaults of every call, taken exactly as a call's options
    are: known options as given, any other (``seed=7``) into ``extra_body`` for the provider."""
    wrong = [name for name in defaults if name in _CALL_ONLY]
    if wrong:
        raise TypeError(f"{', '.join(wrong)} cannot be a client default; pass it to each call (create_stream / create_completion)")
    options = {name: value for name, value in defaults.items() if name in _OPTION_NAMES}
    extras = {name: value for name, value in defaults.items() if name not in _OPTION_NAMES}
    if extras:
        options["extra_body"] = {**extras, **(options.get("extra_body") or {})}
    return options


class _ClientBase:
    def __init__(
        self,
        backend: BackendType | str,
        model: str | None = None,
        *,
        endpoint_id: str | None = None,
        settings: Settings | None = None,
        **defaults: Any,
    ):
        if settings is None:
            from vv_llm.settings import settings as global_settings

            settings = global_settings
        self.backend = BackendType.parse(backend)
        self.model = model
        self.endpoint_id = endpoint_id
        self.settings = settings
        self.defaults = call_defaults(defaults)
        """Options applied to every call unless the call gives its own (e.g. ``temperature``)."""
        self._engine = CallEngine(self.backend, settings, endpoint_id)
        self._engine.check_credentials(model)

    def resolve(self, model: str | None = None) -> ResolvedModel:
        """The model's merged settings and endpoints."""
        return self._engine.resolve(model or self.model)

    def _options(self, given: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        options = {k: v for k, v in given.items() if v is not None}
        if self.defaults:
            defaults = self.defaults
            merged = {name: {**defaults[name], **options[name]} for name in _MERGED if name in options and defaults.get(name)}
            options = {**defaults, **options, **merged}
        if kwargs:
            # Anything else (seed, frequency_penalty, ...) goes to the provider as is.
            options["extra_body"] = {**(options.get("extra_body") or {}), **kwargs}
        return options

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend.value!r}, model={self.model!r})"


class ChatClient(_ClientBase):
    """Synchronous client for one backend. Create with :func:`create_chat_client`."""

    def __init__(self, backend: BackendType | str, model: str | None = None, *, http_client: httpx.Client | None = None, **kwargs: Any):
        super().__init__(backend, model, **kwargs)
        if http_client is not None:
            from vv_llm.chat_clients.transport import SyncTransport

            self._transport = SyncTransport(http_client)
        else:
            self._transport = shared_sync_transport()

    @overload
    def create_completion(
        self, messages: list[dict[str, Any]], model: str | None = None, *, stream: Literal[False] = False, **options: Any
    ) -> ChatCompletionMessage: ...
    @overload
    def create_completion(
        self, messages: list[dict[str, Any]], model: str | None = None, *, stream: Literal[True], **options: Any
    ) -> ChatStream: ...
    def create_completion(
        self,
        messages: list[dict[str, Any]],
        model: str | None = None,
        *,
        stream: bool = False,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        response_format: dict[str, Any] | type | None = None,
        stop: str | list[str] | None = None,
        top_p: float | None = None,
        thinking: bool | dict[str, Any] | None = None,
        reasoning_effort: str | None = None,
        prompt_cache: bool | None = None,
        skip_cutoff: bool | None = None,
        timeout: float | tuple[float, float] | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_body: dict[str, Any] | None = None,
        extra_headers: dict[str, str] | None = None,
        unsupported: Literal["warn", "error", "drop"] | None = None,
        **kwargs: Any,
    ) -> ChatCompletionMessage | ChatStream:
        """Send ``messages`` (OpenAI format) and return the reply, or a :class:`ChatStream` with ``stream=True``.

        ``timeout``: seconds for each connect/read (or a ``(connect, read)`` pair); ``deadline``: seconds
        the whole call may take, retries and rate-limit waits included (no read waits past it; a
        stream it cuts after output raises PartialStreamError); ``max_retries``: retries after a
        backoff (failing over to another endpoint is free). ``response_format``: OpenAI's json_schema /
        json_object dict or a pydantic model class (→ ``reply.parsed``); ``unsupported``: what to do with
        options the backend cannot take — ``"warn"`` (default), ``"error"`` or ``"drop"`` (see ``reply.request_report``).
        """
        given = locals()
        options = self._options({name: given[name] for name in _OPTION_NAMES}, kwargs)
        call = self._engine.prepare(messages, model or self.model, stream, options)
        if stream:
            return ChatStream(self._engine, call, self._transport)
        return run_sync(self._engine.completion_plan(call), self._transport)

    def create_stream(self, messages: list[dict[str, Any]], model: str | None = None, **options: Any) -> ChatStream:
        """Like ``create_completion(..., stream=True)``: iterate the result for deltas."""
        options.pop("stream", None)
        return self.create_completion(messages, model, stream=True, **options)


class AsyncChatClient(_ClientBase):
    """Asynchronous client for one backend. Create with :func:`create_async_chat_client`."""

    def __init__(
        self, backend: BackendType | str, model: str | None = None, *, http_client: httpx.AsyncClient | None = None, **kwargs: Any
    ):
        super().__init__(backend, model, **kwargs)
        if http_client is not None:
            from vv_llm.chat_clients.transport import AsyncTransport

            self._transport = AsyncTransport(http_client)
        else:
            self._transport = shared_async_transport()

    @overload
    async def create_completion(
        self, messages: list[dict[str, Any]], model: str | None = None, *, stream: Literal[False] = False, **options: Any
    ) -> ChatCompletionMessage: ...
    @overload
    async def create_completion(
        self, messages: list[dict[str, Any]], model: str | None = None, *, stream: Literal[True], **options: Any
    ) -> AsyncChatStream: ...
    async def create_completion(
        self,
        messages: list[dict[str, Any]],
        model: str | None = None,
        *,
        stream: bool = False,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        response_format: dict[str, Any] | type | None = None,
        stop: str | list[str] | None = None,
        top_p: float | None = None,
        thinking: bool | dict[str, Any] | None = None,
        reasoning_effort: str | None = None,
        prompt_cache: bool | None = None,
        skip_cutoff: bool | None = None,
        timeout: float | tuple[float, float] | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_body: dict[str, Any] | None = None,
        extra_headers: dict[str, str] | None = None,
        unsupported: Literal["warn", "error", "drop"] | None = None,
        **kwargs: Any,
    ) -> ChatCompletionMessage | AsyncChatStream:
        """Send ``messages`` and return the reply, or an :class:`AsyncChatStream` with ``stream=True``."""
        given = locals()
        options = self._options({name: given[name] for name in _OPTION_NAMES}, kwargs)
        call = self._engine.prepare(messages, model or self.model, stream, options)
        if stream:
            return AsyncChatStream(self._engine, call, self._transport)
        return await run_async(self._engine.completion_plan(call), self._transport)

    def create_stream(self, messages: list[dict[str, Any]], model: str | None = None, **options: Any) -> AsyncChatStream:
        """``async for delta in client.create_stream(...)`` (``await`` on it works too)."""
        options.pop("stream", None)
        given = {name: options.pop(name, None) for name in _OPTION_NAMES}
        call = self._engine.prepare(messages, model or self.model, True, self._options(given, options))
        return AsyncChatStream(self._engine, call, self._transport)
