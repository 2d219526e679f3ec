"""The fake server's wire protocols, one module per protocol as in ``vv_llm.chat_clients.adapters``.

Each wire module parses and validates a provider's requests and writes its answers byte for byte
as the provider does, and lists its :class:`~vv_llm.testing.protocol.WireProtocol` instances in
``PROTOCOLS``. Helper modules: ``_common`` (framing, credentials, refusals, usage counts shared by
every wire), ``*_validation`` (a provider's request checks, in its own words), ``google_oauth``
(the token endpoint Vertex credentials use), ``aws_sigv4`` and ``aws_eventstream`` (Bedrock's
authentication and stream framing), ``gemini_partial_args`` (Vertex's streamed call arguments).
"""

WIRE_MODULES = (
    "openai_compatible",
    "anthropic",
    "anthropic_vertex",
    "gemini",
    "gemini_vertex",
    "google_oauth",
    "bedrock",
)
"""The modules whose ``PROTOCOLS`` the fake server routes requests to."""
