"""Every backend has its own sync and async client class, registered on its class line, and the
factory returns exactly that class — for the enum member and for the backend named as a string."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import vv_llm.chat_clients as chat_clients
from vv_llm.chat_clients import AsyncChatClient, BackendType, ChatClient, create_async_chat_client, create_chat_client
from vv_llm.chat_clients import clients as client_classes
from vv_llm.errors import InvalidRequestError
from vv_llm.types.options import OPTION_NAMES, CompletionOptions
from vv_llm.utilities.tokens import get_message_token_counts


def spellings(backend: BackendType) -> list[Any]:
    """The ways a caller may name a backend: the member, its settings key, its name in any case."""
    return [backend, backend.value, backend.name, backend.name.upper(), f" {backend.value} "]


@pytest.mark.parametrize("backend", list(BackendType))
def test_each_backend_has_its_own_sync_and_async_class(backend: BackendType) -> None:
    sync_class = getattr(chat_clients, f"{backend.name}ChatClient")
    async_class = getattr(chat_clients, f"Async{backend.name}ChatClient")
    assert ChatClient.for_backend(backend) is sync_class
    assert AsyncChatClient.for_backend(backend) is async_class
    assert issubclass(sync_class, ChatClient) and not issubclass(sync_class, AsyncChatClient)
    assert issubclass(async_class, AsyncChatClient) and not issubclass(async_class, ChatClient)
    assert sync_class.__module__ == async_class.__module__ == client_classes.__name__


@pytest.mark.parametrize("backend", list(BackendType))
def test_the_factory_returns_exactly_the_backends_class(backend: BackendType, fake_settings: Any) -> None:
    for name in spellings(backend):
        client = create_chat_client(name)
        assert type(client) is ChatClient.for_backend(backend), name
        assert client.backend is backend
        async_client = create_async_chat_client(name)
        assert type(async_client) is AsyncChatClient.for_backend(backend), name
        assert async_client.backend is backend


def test_an_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown backend 'nope'; known: openai, anthropic"):
        create_chat_client("nope")


def test_every_class_in_clients_is_registered_and_exported() -> None:
    defined = {
        name for name, value in vars(client_classes).items() if isinstance(value, type) and value.__module__ == client_classes.__name__
    }
    assert len(defined) == 2 * len(BackendType)
    assert defined <= set(chat_clients.__all__)
    registered = {ChatClient.for_backend(b).__name__ for b in BackendType} | {AsyncChatClient.for_backend(b).__name__ for b in BackendType}
    assert registered == defined


def test_call_option_names_come_from_completion_options() -> None:
    assert tuple(CompletionOptions.__annotations__) == OPTION_NAMES
    assert set(OPTION_NAMES) == CompletionOptions.__optional_keys__
    assert {"temperature", "max_tokens", "tools", "response_format", "timeout", "extra_body", "unsupported"} <= set(OPTION_NAMES)


def test_options_reach_the_request_and_anything_else_goes_to_the_provider(fake_settings: Any, fake_llm_server: Any) -> None:
    client = create_chat_client("openai", "gpt-4o", temperature=0.5, seed=1234)
    client.create_completion([{"role": "user", "content": "hi"}], max_tokens=7, frequency_penalty=0.1)
    body = fake_llm_server.last_request.json
    assert (body["temperature"], body["max_completion_tokens"], body["seed"], body["frequency_penalty"]) == (0.5, 7, 1234, 0.1)
    with pytest.raises(TypeError, match="stream cannot be a client default"):
        create_chat_client("openai", "gpt-4o", stream=True)  # type: ignore[call-overload]


async def test_count_tokens_on_both_faces_uses_the_clients_own_connection(fake_settings: Any, fake_llm_server: Any) -> None:
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "How many tokens is this?"}]
    expected = get_message_token_counts(messages, None, "claude-sonnet-4-5")
    sent: list[str] = []

    async def note_async(request: httpx.Request) -> None:
        sent.append(request.url.path)

    with httpx.Client(event_hooks={"request": [lambda request: sent.append(request.url.path)]}) as http:
        sync_client = create_chat_client("anthropic", "claude-sonnet-4-5", http_client=http)
        assert sync_client.count_tokens(messages) == expected
    async with httpx.AsyncClient(event_hooks={"request": [note_async]}) as http_async:
        async_client = create_async_chat_client(BackendType.Anthropic, http_client=http_async)
        assert await async_client.count_tokens(messages, "claude-sonnet-4-5") == expected
    assert sent == ["/v1/messages/count_tokens"] * 2
    assert fake_llm_server.last_request.path.endswith("/messages/count_tokens")
    with pytest.raises(InvalidRequestError, match="no token count endpoint"):
        create_chat_client("openai", "gpt-4o").count_tokens(messages)


def test_no_submodule_shadows_an_exported_name() -> None:
    # Importing a submodule sets it as the package's attribute: a module named like an exported
    # function (format_messages) would replace the function for every later import.
    package = Path(chat_clients.__file__).parent
    submodules = {path.stem for path in package.glob("*.py")} | {path.name for path in package.iterdir() if path.is_dir()}
    assert submodules & set(chat_clients.__all__) == set()
