"""Claude on Vertex AI: the Anthropic Messages API behind Google's regional endpoints.

``POST {host}/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict``
(``:streamRawPredict`` to stream) with a Google OAuth bearer token; the body is the Messages API's
with ``anthropic_version: vertex-2023-10-16`` and without ``model``. Responses, streams and errors
are Anthropic's (Google's own error shape for auth and quota problems). Token counts:
``POST …/publishers/anthropic/models/count-tokens:rawPredict`` with the model in the body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.adapters.anthropic import AnthropicAdapter
from vv_llm.chat_clients.adapters.google_credentials import vertex_base_url, vertex_credentials

if TYPE_CHECKING:
    from vv_llm.chat_clients.adapters.base import CallParams, HttpRequest
    from vv_llm.settings.store import ResolvedEndpoint
    from vv_llm.types.enums import BackendType

VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"


class VertexAnthropicAdapter(AnthropicAdapter):
    provider = "vertex"

    def __init__(self, backend: BackendType, endpoint: ResolvedEndpoint):
        self.credentials = vertex_credentials(endpoint.endpoint, provider=self.provider)
        self._models_url = vertex_base_url(endpoint.endpoint, self.credentials.project_id) + "/publishers/anthropic/models/"
        super().__init__(backend, endpoint)

    def auth_headers(self) -> dict[str, str]:
        return {}  # the bearer token is added per request: it changes when refreshed

    def url(self, call: CallParams) -> str:
        return f"{self._models_url}{call.model_id}:{'streamRawPredict' if call.stream else 'rawPredict'}"

    def request_body(self, call: CallParams) -> dict[str, Any]:
        body = super().request_body(call)
        del body["model"]
        return {"anthropic_version": VERTEX_ANTHROPIC_VERSION, **body}

    def count_url(self, call: CallParams) -> str:
        return f"{self._models_url}count-tokens:rawPredict"

    def count_body(self, call: CallParams) -> dict[str, Any]:
        return {**super().count_body(call), "model": call.model_id}  # unlike rawPredict, the count names the model in the body

    def build_request(self, call: CallParams) -> HttpRequest:
        request = super().build_request(call)
        request.headers = {**request.headers, **self.credentials.auth_headers()}
        return request

    def refresh_due(self) -> bool:
        return self.credentials.refresh_due()

    def refresh(self) -> None:
        self.credentials.refresh()
