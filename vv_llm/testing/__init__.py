"""A fake LLM provider server speaking the providers' real wire protocols, for tests and demos.

Used by vv-llm's own tests, by the playground's offline demo backend, and available to users
who want to test their code against vv-llm without network or keys::

    from vv_llm.testing import FakeLLMServer, Reply
"""

from vv_llm.testing.protocol import RecordedRequest
from vv_llm.testing.script import Reply, RequestInfo, ToolCallSpec, echo_responder
from vv_llm.testing.server import FakeLLMServer, unused_port

__all__ = ["FakeLLMServer", "RecordedRequest", "Reply", "RequestInfo", "ToolCallSpec", "echo_responder", "unused_port"]
