"""Fixtures shared across tests/unit: a service-account key, and the ``protocol`` every cross-protocol
scenario runs on (``cross_protocol.PROTOCOLS``, each with its endpoints loaded on the fake server)."""

from __future__ import annotations

import pytest

from vv_llm.chat_clients.adapters.google_credentials import clear_credentials_cache

from .cross_protocol import PROTOCOLS, load_scenario_settings


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@pytest.fixture(params=PROTOCOLS, ids=lambda p: p.id)
def protocol(request, fake_settings, fake_llm_server, private_key_pem):
    """Every backend on the fake server, plus Vertex (Claude, Gemini) and Bedrock deployments."""
    clear_credentials_cache()
    load_scenario_settings(fake_llm_server, private_key_pem)
    yield request.param
    clear_credentials_cache()
