"""pytest fixtures: ``fake_llm_server`` and ``fake_settings``.

Enable with ``pytest_plugins = ["vv_llm.testing.pytest_plugin"]`` in a conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from vv_llm.settings import settings
from vv_llm.testing.script import echo_responder
from vv_llm.testing.server import FakeLLMServer
from vv_llm.testing.settings import fake_settings_dict
from vv_llm.utilities.endpoint_choice import cooldowns


@pytest.fixture(scope="session")
def _fake_llm_server_session() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake_llm_server(_fake_llm_server_session: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """A running fake provider server, with an empty queue and no recorded requests."""
    server = _fake_llm_server_session
    server.reset()
    server.api_keys = None
    server.responder = echo_responder
    yield server
    server.reset()


@pytest.fixture
def fake_settings(fake_llm_server: FakeLLMServer) -> Iterator[Any]:
    """vv-llm's global settings, loaded with one endpoint per backend on the fake server.

    Endpoint ids are ``fake-<backend>``; every catalogue model of every backend is reachable.
    Restored to empty after the test.
    """
    cooldowns.clear()
    settings.load(fake_settings_dict(fake_llm_server))
    yield settings
    settings.reset()
    cooldowns.clear()
