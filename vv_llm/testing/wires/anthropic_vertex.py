"""Claude on Vertex AI: the Anthropic Messages API behind Google's ``rawPredict`` routes, with a
Google OAuth bearer token (issued by :mod:`.google_oauth`) and Google-shaped auth errors.
"""

from __future__ import annotations

import re
from typing import Any

from vv_llm.testing.protocol import RecordedRequest, Rendered
from vv_llm.testing.script import Reply, RequestInfo
from vv_llm.testing.wires._common import GOOGLE_STATUS, bearer_token, check, compact_json, json_body
from vv_llm.testing.wires.anthropic import AnthropicWire, count_answer
from vv_llm.testing.wires.anthropic_validation import COUNT_FIELDS, validate_messages_body
from vv_llm.testing.wires.google_oauth import BEARER_CHALLENGE, bearer_token_problem

_GOOGLE_SHAPED = (401, 403, 404, 429)
"""Statuses Vertex answers itself, in Google's error shape (the rest come from Anthropic's API)."""


def _google_error(status: int, message: str, headers: dict[str, str]) -> Rendered:
    body = {"error": {"code": status, "message": message, "status": GOOGLE_STATUS[status]}}
    return Rendered(status, {"content-type": "application/json; charset=UTF-8", **headers}, compact_json(body))


class VertexAnthropicWire(AnthropicWire):
    """Claude on Vertex AI: ``POST /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict``
    (``:streamRawPredict`` to stream), ``anthropic_version: vertex-2023-10-16`` in the body, no
    ``model`` field, a Google OAuth bearer token."""

    name = "vertex-anthropic"
    id_prefix = "msg_vrtx_01"

    def matches(self, method: str, path: str) -> bool:
        return (
            method == "POST"
            and "/publishers/anthropic/models/" in path
            and path.endswith((":rawPredict", ":streamRawPredict"))
            and not path.endswith("/count-tokens:rawPredict")
        )

    @staticmethod
    def credential(request: RecordedRequest) -> str:
        return (bearer_token(request) or "").strip()

    def auth_problem(self, request: RecordedRequest) -> str | None:
        if not self.credential(request):
            return (
                "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
                "or other valid authentication credential."
            )
        return None

    def answer(self, request: RecordedRequest) -> Rendered | None:
        """Refuse a bearer token the fake Google token endpoint did not issue (or that expired)."""
        problem = bearer_token_problem(request)
        if problem is None:
            return None
        return _google_error(401, problem, BEARER_CHALLENGE)

    def parse(self, request: RecordedRequest) -> RequestInfo:
        body = self.vertex_body(request)
        check("model" not in body, "model: Extra inputs are not permitted")
        model = request.path.rsplit("/models/", 1)[1].split(":")[0]
        validate_messages_body(body, need_model=False, model=model)
        streaming = request.path.endswith(":streamRawPredict")
        check(bool(body.get("stream")) == streaming, "stream must be true with :streamRawPredict and absent with :rawPredict")
        return self.info(body, model, streaming)

    def vertex_body(self, request: RecordedRequest) -> dict[str, Any]:
        """The JSON body, once the bearer token and ``anthropic_version`` are checked."""
        self.require_credential(request)
        body = json_body(request, "Invalid JSON payload received.")
        check(isinstance(body, dict), "Invalid JSON payload received.")
        version = body.get("anthropic_version")
        check(
            isinstance(version, str) and re.fullmatch(r"(vertex-)?\d{4}-\d{2}-\d{2}", version) is not None,
            "anthropic_version: Field required (e.g. 'vertex-2023-10-16')",
        )
        return body

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        status, message = self.refused_credential(status, message, request)
        if status not in _GOOGLE_SHAPED:
            return super().render_error(status, message, error_type, request, headers)
        return _google_error(status, message, headers)


class VertexAnthropicCountWire(VertexAnthropicWire):
    """Claude token counts on Vertex AI: ``POST …/publishers/anthropic/models/count-tokens:rawPredict``
    with ``anthropic_version`` and the model in the body."""

    name = "vertex-anthropic-count"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and "/publishers/anthropic/models/" in path and path.endswith("/count-tokens:rawPredict")

    def parse(self, request: RecordedRequest) -> RequestInfo:
        body = self.vertex_body(request)
        validate_messages_body(body, count_fields=COUNT_FIELDS | {"anthropic_version"})
        return self.info(body, body["model"], False)

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        return count_answer(self, reply, info)


PROTOCOLS = [VertexAnthropicWire(), VertexAnthropicCountWire()]
