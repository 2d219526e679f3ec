"""Typed errors over every protocol family: overloaded, invalid-request and auth failures raise the same
error types, sync and async, with status, provider and endpoint, and no secret in their text."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vv_llm.chat_clients import create_async_chat_client, create_chat_client
from vv_llm.errors import AuthenticationError, BadRequestError, ServerError
from vv_llm.testing import Reply


@pytest.mark.parametrize("kind", ["overloaded", "invalid_request", "auth"])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_errors_are_the_same_types(protocol, fake_llm_server, kind, use_async):
    options: dict[str, Any] = {}
    if kind == "overloaded":
        fake_llm_server.enqueue(Reply.error(protocol.overloaded_status, "Overloaded"))
        expected: type[Exception] = ServerError
    elif kind == "invalid_request":
        fake_llm_server.enqueue(Reply.error(400, "Invalid request: something is off"))
        expected = BadRequestError
    else:
        options = protocol.break_auth(fake_llm_server)
        expected = AuthenticationError
    messages = [{"role": "user", "content": "hello"}]
    with pytest.raises(expected) as caught:
        if use_async:
            asyncio.run(create_async_chat_client(protocol.backend, model=protocol.model).create_completion(messages, **options))
        else:
            create_chat_client(protocol.backend, model=protocol.model).create_completion(messages, **options)
    error = caught.value
    if kind == "invalid_request":
        assert type(error) is BadRequestError
    assert error.status is not None and error.status >= 400
    assert error.provider in {"openai", "anthropic", "gemini", "vertex", "bedrock"} and error.endpoint_id
    for text in (str(error), repr(error)):
        assert protocol.secret not in text and "ya29." not in text
