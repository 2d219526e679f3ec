"""Gemini on Vertex AI: the Gemini API under ``/v1/projects/{p}/locations/{r}/publishers/google/models/{m}``,
with a bearer token issued by the fake Google token endpoint (:mod:`.google_oauth`), and its
countTokens route. Answers differ from the Gemini API's in the details Vertex writes
(``createTime``, ``trafficType``, the candidate's role first, no ``index``).
"""

from __future__ import annotations

import re
import time
from typing import Any

from vv_llm.testing.protocol import RecordedRequest, Rendered
from vv_llm.testing.script import Reply, RequestInfo
from vv_llm.testing.wires._common import google_pretty
from vv_llm.testing.wires.gemini import GeminiWire, count_answer, count_request
from vv_llm.testing.wires.gemini_validation import refuse_unknown, validate_request
from vv_llm.testing.wires.google_oauth import BEARER_CHALLENGE, bearer_token_problem


class VertexGeminiWire(GeminiWire):
    """Gemini on Vertex AI: ``POST /v1/projects/{p}/locations/{r}/publishers/google/models/{m}:generateContent``
    (``:streamGenerateContent?alt=sse``) with a bearer token from the fake token endpoint."""

    name = "vertex-gemini"

    def matches(self, method: str, path: str) -> bool:
        return (
            method == "POST"
            and bool(re.search(r"/projects/[^/]+/locations/[^/]+/publishers/google/models/[^/]+:", path))
            and path.endswith((":generateContent", ":streamGenerateContent"))
        )

    def check_auth(self, request: RecordedRequest, keys: set[str]) -> bool:
        return bearer_token_problem(request) is None

    def answer(self, request: RecordedRequest) -> Rendered | None:
        problem = bearer_token_problem(request)
        if problem is None:
            return None
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "CREDENTIALS_MISSING" if "missing" in problem else "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                "domain": "googleapis.com",
                "metadata": {
                    "service": "aiplatform.googleapis.com",
                    "method": "google.cloud.aiplatform.v1.PredictionService.GenerateContent",
                },
            }
        ]
        return self.error(401, problem, request, BEARER_CHALLENGE, details)

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        if status == 401:
            return self.error(401, message, request, headers)
        return super().render_error(status, message, error_type, request, headers)

    def usage(self, reply: Reply, info: RequestInfo) -> dict[str, Any]:
        usage = super().usage(reply, info)
        usage["trafficType"] = "ON_DEMAND"
        return usage

    def candidate(self, parts: list[dict[str, Any]] | None, finish: str | None) -> dict[str, Any]:
        candidate = super().candidate(parts, finish)
        if "content" in candidate:  # Vertex writes the role first
            candidate["content"] = {"role": "model", "parts": candidate["content"]["parts"]}
        candidate.pop("index", None)
        return candidate

    def envelope(self, body: dict[str, Any], model: str, response_id: str) -> dict[str, Any]:
        body["modelVersion"] = model
        body["createTime"] = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        body["responseId"] = response_id
        return body


class VertexGeminiCountWire(VertexGeminiWire):
    """Vertex AI's ``…/publishers/google/models/{model}:countTokens``: contents, system instruction
    and tools at the top level."""

    name = "vertex-gemini-count"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and bool(re.search(r"/projects/[^/]+/locations/[^/]+/publishers/google/models/[^/]+:countTokens$", path))

    def parse(self, request: RecordedRequest) -> RequestInfo:
        model, body = count_request(request)
        refuse_unknown(body, {"model", "instances", "contents", "systemInstruction", "tools", "generationConfig"}, "")
        validate_request({k: v for k, v in body.items() if k != "model"}, model)
        return self.info(body, model, False)

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        answer = count_answer(reply, info, totalBillableCharacters=len(info.messages_text))
        return Rendered(200, self.headers("application/json; charset=UTF-8", reply.headers), body=google_pretty(answer))


PROTOCOLS = [VertexGeminiWire(), VertexGeminiCountWire()]
