"""Gemini on Vertex AI: ``POST https://{region}-aiplatform.googleapis.com/v1/projects/{project}/
locations/{region}/publishers/google/models/{model}:generateContent`` (``:streamGenerateContent?alt=sse``)
with a Google OAuth bearer token.

Same request and response shapes as the Gemini API (``gemini``); only the URL and the
credentials differ. Region ``global`` uses ``aiplatform.googleapis.com``; an endpoint ``api_base``
replaces the host. Credentials (``google_credentials``) are checked when the adapter is built, so
a missing service-account file fails at client creation; the token is refreshed in ``refresh()``,
which the async client runs in a worker thread. Token counts: ``…/models/{model}:countTokens``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.adapters.gemini import GeminiAdapter
from vv_llm.chat_clients.adapters.google_credentials import vertex_base_url, vertex_credentials

if TYPE_CHECKING:
    from vv_llm.chat_clients.adapters.base import CallParams
    from vv_llm.settings.store import ResolvedEndpoint
    from vv_llm.types.enums import BackendType


class VertexGeminiAdapter(GeminiAdapter):
    """Gemini models served by Vertex AI."""

    provider = "vertex"

    def __init__(self, backend: BackendType, endpoint: ResolvedEndpoint):
        self.credentials = vertex_credentials(endpoint.endpoint, provider=self.provider)
        self._models_url = vertex_base_url(endpoint.endpoint, self.credentials.project_id) + "/publishers/google"
        super().__init__(backend, endpoint)

    def static_auth_headers(self) -> dict[str, str]:
        return {}

    def dynamic_auth_headers(self) -> dict[str, str]:
        return self.credentials.auth_headers()

    def models_url(self) -> str:
        return self._models_url

    def url(self, call: CallParams) -> str:
        model = call.model_id.removeprefix("models/").removeprefix("publishers/google/models/")
        if call.stream:
            return f"{self._models_url}/models/{model}:streamGenerateContent?alt=sse"
        return f"{self._models_url}/models/{model}:generateContent"

    def count_body(self, call: CallParams) -> dict[str, Any]:
        """Vertex's ``countTokens`` takes contents, system instruction and tools at the top level (no toolConfig)."""
        body = self.request_body(call)
        return {name: body[name] for name in ("contents", "systemInstruction", "tools") if name in body}

    def refresh_due(self) -> bool:
        return self.credentials.refresh_due()

    def refresh(self) -> None:
        self.credentials.refresh()
