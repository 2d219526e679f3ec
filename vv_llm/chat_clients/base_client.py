"""``ChatClient`` and ``AsyncChatClient``: the public faces over one shared ``CallEngine``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, Unpack, overload

from vv_llm.chat_clients.engine import CallEngine, PreparedCall
from vv_llm.chat_clients.streams import AsyncChatStream, ChatStream
from vv_llm.chat_clients.transport import AsyncTransport, SyncTransport, run_async, run_sync, shared_async_transport, shared_sync_transport
from vv_llm.settings import settings as global_settings
from vv_llm.types.enums import BackendType
from vv_llm.types.options import OPTION_NAMES, CompletionOptions

if TYPE_CHECKING:
    import httpx

    from vv_llm.settings.store import ResolvedModel, Settings
    from vv_llm.types.messages import ChatCompletionMessage

_CALL_ONLY = ("stream", "messages")
"""Arguments a call takes that make no sense as a client's defaults."""
_MERGED = ("extra_body", "extra_headers")
"""Options whose call-level value is merged into the client's default rather than replacing it."""
_OPTION_SET = frozenset(OPTION_NAMES)


class ChatClientOptions(CompletionOptions, total=False):
    """``create_chat_client``'s keyword arguments: where the client connects, and call defaults."""

    endpoint_id: str | None
    settings: Settings | None
    http_client: httpx.Client | None


class AsyncChatClientOptions(CompletionOptions, total=False):
    """``create_async_chat_client``'s keyword arguments."""

    endpoint_id: str | None
    settings: Settings | None
    http_client: httpx.AsyncClient | None


def call_defaults(defaults: dict[str, Any]) -> dict[str, Any]:
    """A client's keyword arguments as defaults of every call, taken exactly as a call's options
    are: known options as given, any other (``seed=7``) into ``extra_body`` for the provider."""
    wrong = [name for name in defaults if name in _CALL_ONLY]
    if wrong:
        raise TypeError(f"{', '.join(wrong)} cannot be a client default; pass it to each call (create_stream / create_completion)")
    options = {name: value for name, value in defaults.items() if name in OPTION_NAMES}
    extras = {name: value for name, value in defaults.items() if name not in OPTION_NAMES}
    if extras:
        options["extra_body"] = {**extras, **(options.get("extra_body") or {})}
    return options


class _ClientBase:
    _registry: ClassVar[dict[BackendType, type[Any]]]
    """Each face's classes by backend (``ChatClient`` and ``AsyncChatClient`` each hold their own)."""

    def __init_subclass__(cls, backend: BackendType | None = None, **kwargs: Any) -> None:
        """``class OpenAIChatClient(ChatClient, backend=BackendType.OpenAI)``: the class the factory
        returns for that backend on that face."""
        super().__init_subclass__(**kwargs)
        if backend is not None:
            cls._registry[backend] = cls

    @classmethod
    def for_backend(cls, backend: BackendType) -> type[Self]:
        """``backend``'s class on this face (``ChatClient.for_backend`` → synchronous,
        ``AsyncChatClient.for_backend`` → asynchronous; the classes live in ``clients``)."""
        return cls._registry[backend]

    def __init__(
        self,
        backend: BackendType | str,
        model: str | None = None,
        *,
        endpoint_id: str | None = None,
        settings: Settings | None = None,
        **defaults: Any,
    ):
        self.backend = BackendType.parse(backend)
        self.model = model
        self.endpoint_id = endpoint_id
        self.settings = settings = settings if settings is not None else global_settings
        self.defaults = call_defaults(defaults)
        """Options applied to every call unless the call gives its own (e.g. ``temperature``)."""
        self._engine = CallEngine(self.backend, settings, endpoint_id)
        self._engine.check_credentials(model)

    def resolve(self, model: str | None = None) -> ResolvedModel:
        """The model's merged settings and endpoints."""
        return self._engine.resolve(model or self.model)

    def _prepare(self, messages: Any, model: str | None, stream: bool, given: dict[str, Any]) -> PreparedCall:
        """The call's options (``CompletionOptions`` by name, anything else for the provider) over the client's defaults."""
        options: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        for name, value in given.items():  # the few given, not every known name
            if name in _OPTION_SET:
                if value is not None:
                    options[name] = value
            else:
                extras[name] = value
        if self.defaults:
            defaults = self.defaults
            merged = {name: {**defaults[name], **options[name]} for name in _MERGED if name in options and defaults.get(name)}
            options = {**defaults, **options, **merged}
        if extras:
            # Anything else (seed, frequency_penalty, ...) goes to the provider as is.
            options["extra_body"] = {**(options.get("extra_body") or {}), **extras}
        return self._engine.prepare(messages, model or self.model, stream, options)

    def _count_call(self, messages: Any, model: str | None, tools: Any) -> PreparedCall:
        return self._engine.prepare(messages, model or self.model, False, {"tools": tools, "skip_cutoff": True})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend.value!r}, model={self.model!r})"


class ChatClient(_ClientBase):
    """Synchronous client for one backend. Create with :func:`create_chat_client`."""

    _registry: ClassVar[dict[BackendType, type[Any]]] = {}

    def __init__(self, backend: BackendType | str, model: str | None = None, **options: Unpack[ChatClientOptions]):
        http_client = options.pop("http_client", None)
        super().__init__(backend, model, **options)
        self._transport = SyncTransport(http_client) if http_client is not None else shared_sync_transport()

    @overload
    def create_completion(
        self,
        messages: list[dict[str, Any]],
        model: str | None = None,
        *,
        stream: Literal[False] = False,
        **options: Unpack[CompletionOptions],
    ) -> ChatCompletionMessage: ...
    @overload
    def create_completion(
        self, messages: list[dict[str, Any]], model: str | None = None, *, stream: Literal[True], **options: Unpack[CompletionOptions]
    ) -> ChatStream: ...
    @overload
    def create_completion(
        self, messages: list[dict[str, Any]], model: str | None = None, *, stream: bool, **options: Unpack[CompletionOptions]
    ) -> ChatCompletionMessage | ChatStream: ...
    def create_completion(
        self, messages: list[dict[str, Any]], model: str | None = None, *, stream: bool = False, **options: Any
    ) -> ChatCompletionMessage | ChatStream:
        """Send ``messages`` (OpenAI format) and return the reply, or a :class:`ChatStream` with ``stream=True``.

        Options: :class:`~vv_llm.types.options.CompletionOptions`. ``timeout``: seconds for each
        connect/read (or a ``(connect, read)`` pair); ``deadline``: seconds the whole call may take,
        retries and rate-limit waits included (no read waits past it; a stream it cuts after output
        raises PartialStreamError); ``max_retries``: retries after a backoff (failing over to another
        endpoint is free). ``response_format``: OpenAI's json_schema / json_object dict or a pydantic
        model class (→ ``reply.parsed``); ``unsupported``: what to do with options the backend cannot
        take — ``"warn"`` (default), ``"error"`` or ``"drop"`` (see ``reply.request_report``). Any
        other keyword is sent to the provider as is.
        """
        call = self._prepare(messages, model, stream, options)
        if stream:
            return ChatStream(self._engine, call, self._transport)
        return run_sync(self._engine.completion_plan(call), self._transport)

    def create_stream(self, messages: list[dict[str, Any]], model: str | None = None, **options: Unpack[CompletionOptions]) -> ChatStream:
        """Like ``create_completion(..., stream=True)``: iterate the result for deltas."""
        given: dict[str, Any] = dict(options)
        given.pop("stream", None)
        return ChatStream(self._engine, self._prepare(messages, model, True, given), self._transport)

    def count_tokens(self, messages: list[dict[str, Any]], model: str | None = None, tools: list[dict[str, Any]] | None = None) -> int:
        """Prompt tokens of ``messages`` (+ ``tools``) from the provider's own count endpoint
        (Anthropic, Gemini, Vertex AI, Bedrock; others raise InvalidRequestError — count those
        offline with ``get_message_token_counts``)."""
        return int(run_sync(self._engine.count_plan(self._count_call(messages, model, tools)), self._transport))


class AsyncChatClient(_ClientBase):
    """Asynchronous client for one backend. Create with :func:`create_async_chat_client`."""

    _registry: ClassVar[dict[BackendType, type[Any]]] = {}

    def __init__(self, backend: BackendType | str, model: str | None = None, **options: Unpack[AsyncChatClientOptions]):
        http_client = options.pop("http_client", None)
        super().__init__(backend, model, **options)
        self._transport = AsyncTransport(http_client) if http_client is not None else shared_async_transport()

    @overload
    async def create_completion(
        self,
        messages: list[dict[str, Any]],
        model: str | None = None,
        *,
        stream: Literal[False] = False,
        **options: Unpack[CompletionOptions],
    ) -> ChatCompletionMessage: ...
    @overload
    async def create_completion(
        self, messages: list[dict[str, Any]], model: str | None = None, *, stream: Literal[True], **options: Unpack[CompletionOptions]
    ) -> AsyncChatStream: ...
    @overload
    async def create_completion(
        self, messages: list[dict[str, Any]], model: str | None = None, *, stream: bool, **options: Unpack[CompletionOptions]
    ) -> ChatCompletionMessage | AsyncChatStream: ...
    async def create_completion(
        self, messages: list[dict[str, Any]], model: str | None = None, *, stream: bool = False, **options: Any
    ) -> ChatCompletionMessage | AsyncChatStream:
        """Send ``messages`` and return the reply, or an :class:`AsyncChatStream` with ``stream=True``."""
        call = self._prepare(messages, model, stream, options)
        if stream:
            return AsyncChatStream(self._engine, call, self._transport)
        return await run_async(self._engine.completion_plan(call), self._transport)

    def create_stream(
        self, messages: list[dict[str, Any]], model: str | None = None, **options: Unpack[CompletionOptions]
    ) -> AsyncChatStream:
        """``async for delta in client.create_stream(...)`` (``await`` on it works too)."""
        given: dict[str, Any] = dict(options)
        given.pop("stream", None)
        return AsyncChatStream(self._engine, self._prepare(messages, model, True, given), self._transport)

    async def count_tokens(
        self, messages: list[dict[str, Any]], model: str | None = None, tools: list[dict[str, Any]] | None = None
    ) -> int:
        """:meth:`ChatClient.count_tokens` for asyncio."""
        return int(await run_async(self._engine.count_plan(self._count_call(messages, model, tools)), self._transport))
