"""The Gemini API wire protocol as Google serves it on generativelanguage.googleapis.com.

* ``POST …/models/{model}:generateContent`` answers pretty-printed JSON;
  ``:streamGenerateContent?alt=sse`` answers ``data: {GenerateContentResponse}\\r\\n\\r\\n``
  events (Google's ``", "`` / ``": "`` spacing) and ends by closing the body — there is no
  ``[DONE]``; the last event carries ``finishReason`` and the full ``usageMetadata``.
* Requests are validated the way Google validates them (:mod:`.gemini_validation`). Errors have
  Google's shape (``{"error": {"code", "message", "status", "details"}}``); a wrong API key is a
  400 ``API_KEY_INVALID`` as Google answers it.
* ``…/models/{model}:countTokens`` is answered with vv-llm's own count of the prompt.

The same API on Vertex AI is :mod:`.gemini_vertex`, its token endpoint :mod:`.google_oauth`.

Scripting: ``Reply(safety_block=True)`` blocks the answer (``finishReason: SAFETY``);
``Reply(safety_block=True, finish_reason=PROMPT_BLOCKED)`` blocks the prompt
(``promptFeedback.blockReason``, no candidates); a ``finish_reason`` in Google's vocabulary
(``"RECITATION"``, ``"MAX_TOKENS"``, …) is sent as is.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

from vv_llm.testing.protocol import RecordedRequest, Rendered, WireProtocol
from vv_llm.testing.script import Reply, RequestInfo, count_tokens, prompt_tokens, split_text
from vv_llm.testing.wires._common import (
    GOOGLE_STATUS,
    check,
    google_json,
    google_pretty,
    json_body,
    sse,
    tool_arguments,
    tool_call_tokens,
)
from vv_llm.testing.wires.gemini_partial_args import partial_args, streams_arguments
from vv_llm.testing.wires.gemini_validation import (
    GENERATE_REQUEST_FIELDS,
    get_field,
    issue_signature,
    refuse_unknown,
    validate_request,
)

_NOT_JSON = "Invalid JSON payload received. Unexpected token."
PROMPT_BLOCKED = "prompt_blocked"
"""``Reply(safety_block=True, finish_reason=PROMPT_BLOCKED)``: the prompt itself is blocked."""

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}


def _part_text(part: dict[str, Any]) -> str:
    if "text" in part:
        return part["text"]
    response = get_field(part, "functionResponse")
    if isinstance(response, dict):
        return json.dumps(response.get("response"), ensure_ascii=False)
    call = get_field(part, "functionCall")
    if isinstance(call, dict):
        return json.dumps(call.get("args") or {}, ensure_ascii=False)
    return ""


class GeminiWire(WireProtocol):
    """``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent?alt=sse``, ``x-goog-api-key``."""

    name = "gemini"

    def matches(self, method: str, path: str) -> bool:
        return (
            method == "POST"
            and "/publishers/" not in path
            and bool(re.search(r"/models/[^/]+:(generateContent|streamGenerateContent)$", path))
        )

    # -- auth ----------------------------------------------------------------------------
    @staticmethod
    def api_key(request: RecordedRequest) -> str:
        return request.headers.get("x-goog-api-key") or request.query.get("key", "")

    def check_auth(self, request: RecordedRequest, keys: set[str]) -> bool:
        return self.api_key(request) in keys

    def answer(self, request: RecordedRequest) -> Rendered | None:
        if not self.api_key(request) and not request.headers.get("authorization"):
            return self.error(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or "
                "other form of API consumer identity to call this API.",
                request,
                {},
            )
        return None

    # -- parsing -------------------------------------------------------------------------
    def parse(self, request: RecordedRequest) -> RequestInfo:
        model = request.path.rsplit("/models/", 1)[1].split(":")[0]
        stream = request.path.endswith(":streamGenerateContent")
        if stream:
            check(request.query.get("alt") == "sse", "this fake serves :streamGenerateContent only as server-sent events (?alt=sse)")
        body = json_body(request, _NOT_JSON)
        validate_request(body, model)
        return self.info(body, model, stream)

    def info(self, body: dict[str, Any], model: str, stream: bool) -> RequestInfo:
        texts: list[str] = []
        prompt: list[dict[str, Any]] = []
        system = get_field(body, "systemInstruction")
        if system:
            texts += [p.get("text", "") for p in system.get("parts") or []]
            prompt.append({"role": "system", "content": " ".join(t for t in texts if t)})
        last_user = ""
        for content in body["contents"]:
            text = " ".join(t for t in (_part_text(p) for p in content["parts"]) if t)
            texts.append(text)
            prompt.append({"role": "assistant" if content.get("role") == "model" else "user", "content": text})
            if content.get("role", "user") == "user" and any("text" in p for p in content["parts"]):
                last_user = " ".join(p["text"] for p in content["parts"] if "text" in p)
        declared = [d for t in body.get("tools") or [] for d in get_field(t, "functionDeclarations") or [] if isinstance(d, dict)]
        tools = [d.get("name", "") for d in declared]
        thinking = get_field(get_field(body, "generationConfig") or {}, "thinkingConfig") or {}
        return self.request_info(
            model,
            stream,
            texts,
            last_user,
            tools=tools,
            include_usage=True,
            thinking=bool(get_field(thinking, "includeThoughts")),
            body=body,
            prompt=prompt,
            prompt_tools=declared,
            backend="gemini",
        )

    # -- rendering -----------------------------------------------------------------------
    def headers(self, content_type: str, extra: dict[str, str]) -> dict[str, str]:
        return {
            "content-type": content_type,
            "vary": "Origin, X-Origin, Referer",
            "server": "scaffolding on HTTPServer2",
            "x-xss-protection": "0",
            "x-frame-options": "SAMEORIGIN",
            "x-content-type-options": "nosniff",
            "server-timing": "gfet4t7; dur=412",
            **extra,
        }

    def usage(self, reply: Reply, info: RequestInfo) -> dict[str, Any]:
        prompt = _prompt_count(reply, info)
        thoughts = count_tokens(reply.reasoning or "", info.model)
        if reply.completion_tokens is not None:
            candidates = max(0, reply.completion_tokens - thoughts)
        else:
            candidates = count_tokens(reply.content, info.model) + tool_call_tokens(reply, info.model, each=3)
        usage: dict[str, Any] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "totalTokenCount": prompt + candidates + thoughts,
        }
        if reply.cached_tokens:
            usage["cachedContentTokenCount"] = reply.cached_tokens
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
        if reply.cached_tokens:
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": reply.cached_tokens}]
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return usage

    @staticmethod
    def finish_reason(reply: Reply) -> str:
        if reply.safety_block:
            return "SAFETY" if reply.finish_reason in (None, PROMPT_BLOCKED, "content_filter") else reply.finish_reason
        reason = reply.final_finish_reason()
        return _FINISH.get(reason, reason.upper())

    @staticmethod
    def signed(info: RequestInfo) -> bool:
        """Whether this answer carries thought signatures (thinking asked for, or a Gemini 3 model)."""
        return info.thinking or info.model.startswith("gemini-3")

    def parts(self, reply: Reply, info: RequestInfo, response_id: str) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if reply.reasoning and info.thinking:
            parts.append({"text": reply.reasoning, "thought": True})
        if reply.content:
            parts.append({"text": reply.content})
        for call in reply.tool_calls:
            parts.append({"functionCall": {"name": call.name, "args": tool_arguments(call.arguments)}})
        if self.signed(info) and parts:
            target = next((p for p in parts if "functionCall" in p), None) or next(
                (p for p in reversed(parts) if not p.get("thought")), parts[-1]
            )
            target["thoughtSignature"] = issue_signature(response_id, parts.index(target))
        return parts

    def candidate(self, parts: list[dict[str, Any]] | None, finish: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {}
        if parts is not None:
            candidate["content"] = {"parts": parts, "role": "model"}
        if finish:
            candidate["finishReason"] = finish
        if finish == "SAFETY":
            candidate["safetyRatings"] = _safety_ratings(blocked=True)
        candidate["index"] = 0
        return candidate

    def envelope(self, body: dict[str, Any], model: str, response_id: str) -> dict[str, Any]:
        body["modelVersion"] = model
        body["responseId"] = response_id
        return body

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        model = reply.model or info.model
        response_id = _response_id()
        usage = self.usage(reply, info)
        if reply.safety_block and reply.finish_reason == PROMPT_BLOCKED:
            prompt_only = {"promptTokenCount": usage["promptTokenCount"], "totalTokenCount": usage["promptTokenCount"]}
            body = self.envelope(
                {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": _safety_ratings(blocked=True)}, "usageMetadata": prompt_only},
                model,
                response_id,
            )
            if info.stream:
                return Rendered(200, self.headers("text/event-stream", reply.headers), pieces=iter([("meta", self.event(body))]))
            return Rendered(200, self.headers("application/json; charset=UTF-8", reply.headers), body=google_pretty(body))
        if info.stream:
            return Rendered(
                200, self.headers("text/event-stream", reply.headers), pieces=self._stream(reply, info, model, response_id, usage)
            )
        parts = None if reply.safety_block else self.parts(reply, info, response_id)
        body = self.envelope({"candidates": [self.candidate(parts, self.finish_reason(reply))], "usageMetadata": usage}, model, response_id)
        return Rendered(200, self.headers("application/json; charset=UTF-8", reply.headers), body=google_pretty(body))

    @staticmethod
    def event(data: dict[str, Any]) -> bytes:
        return sse(google_json(data), line_end=b"\r\n")

    def _stream(self, reply: Reply, info: RequestInfo, model: str, response_id: str, usage: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
        running = {"promptTokenCount": usage["promptTokenCount"], "totalTokenCount": usage["promptTokenCount"]}

        def chunk(parts: list[dict[str, Any]] | None, finish: str | None = None, final_usage: dict[str, Any] | None = None) -> bytes:
            body = {"candidates": [self.candidate(parts, finish)], "usageMetadata": final_usage or running}
            return self.event(self.envelope(body, model, response_id))

        signed = self.signed(info)
        if not reply.safety_block:
            if reply.reasoning and info.thinking:
                for piece in split_text(reply.reasoning, reply.chunk_chars):
                    yield "content", chunk([{"text": piece, "thought": True}])
            for piece in split_text(reply.content, reply.chunk_chars):
                yield "content", chunk([{"text": piece}])
            in_pieces = streams_arguments(info.body)
            for position, call in enumerate(reply.tool_calls):
                part: dict[str, Any] = {"functionCall": {"name": call.name, "args": tool_arguments(call.arguments)}}
                if in_pieces:  # the name first, then the arguments as partialArgs, then an empty call
                    part = {"functionCall": {"name": call.name, "willContinue": True}}
                if signed and position == 0:
                    part["thoughtSignature"] = issue_signature(response_id, position)
                yield "content", chunk([part])
                if in_pieces:
                    for partial in partial_args(tool_arguments(call.arguments), reply.chunk_chars):
                        yield "content", chunk([{"functionCall": {"partialArgs": [partial], "willContinue": True}}])
                    yield "content", chunk([{"functionCall": {}}])
        last: dict[str, Any] = {"text": ""}
        if signed and not reply.tool_calls and not reply.safety_block:
            last["thoughtSignature"] = issue_signature(response_id, 0)
        yield "meta", chunk(None if reply.safety_block else [last], self.finish_reason(reply), usage)

    def error(
        self, status: int, message: str, request: RecordedRequest, headers: dict[str, str], details: list[Any] | None = None
    ) -> Rendered:
        error: dict[str, Any] = {"code": status, "message": message, "status": GOOGLE_STATUS.get(status, "UNKNOWN")}
        if details:
            error["details"] = details
        return Rendered(status, self.headers("application/json; charset=UTF-8", headers), body=google_pretty({"error": error}))

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        headers = dict(headers)
        details: list[Any] = []
        if status == 401:  # a wrong API key: Google answers 400 API_KEY_INVALID
            message = "API key not valid. Please pass a valid API key."
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
                {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message},
            ]
            status = 400
        elif status == 529:  # not a Google status: its overload answer is 503 UNAVAILABLE
            status = 503
        if status == 429:
            retry = headers.pop("retry-after", None)
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        }
                    ],
                },
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [
                        {"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}
                    ],
                },
            ]
            if retry is not None:
                details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{float(retry):g}s"})
        return self.error(status, message, request, headers, details)

    def malformed_piece(self) -> bytes:
        return sse(b"{this is not json", line_end=b"\r\n")

    def stream_error_piece(self, message: str) -> bytes:
        return self.event({"error": {"code": 503, "message": message, "status": "UNAVAILABLE"}})


def _response_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes[:15]).decode().rstrip("=")


def _safety_ratings(*, blocked: bool) -> list[dict[str, Any]]:
    ratings: list[dict[str, Any]] = [
        {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH" if blocked else "NEGLIGIBLE"},
    ]
    if blocked:
        ratings[-1]["blocked"] = True
    return ratings


def count_request(request: RecordedRequest) -> tuple[str, dict[str, Any]]:
    """``(model, JSON object body)`` of a ``…/models/{model}:countTokens`` request."""
    body = json_body(request, _NOT_JSON)
    check(isinstance(body, dict), "Invalid JSON payload received. Expected an object.")
    return request.path.rsplit("/models/", 1)[1].split(":")[0], body


def _prompt_count(reply: Reply, info: RequestInfo) -> int:
    """Prompt tokens to report (Google counts at least one)."""
    return reply.prompt_tokens if reply.prompt_tokens is not None else max(1, prompt_tokens(info))


def count_answer(reply: Reply, info: RequestInfo, **extra: Any) -> dict[str, Any]:
    """A countTokens answer: the prompt as generateContent would bill it."""
    count = _prompt_count(reply, info)
    return {"totalTokens": count, **extra, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": count}]}


class GeminiCountWire(GeminiWire):
    """``POST /v1beta/models/{model}:countTokens`` with ``contents`` or a whole
    ``generateContentRequest``; answered with vv-llm's own count of the prompt, as usage is."""

    name = "gemini-count"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and "/publishers/" not in path and bool(re.search(r"/models/[^/]+:countTokens$", path))

    def parse(self, request: RecordedRequest) -> RequestInfo:
        model, body = count_request(request)
        refuse_unknown(body, {"contents", "generateContentRequest"}, "")
        inner = get_field(body, "generateContentRequest")
        if inner is not None:
            check(isinstance(inner, dict), "Invalid value at 'generate_content_request', expected an object")
            refuse_unknown(inner, GENERATE_REQUEST_FIELDS, "generate_content_request")
            check(
                get_field(inner, "model") == f"models/{model}",
                f"* CountTokensRequest.generate_content_request.model: must be models/{model}\n",
            )
            body = {k: v for k, v in inner.items() if k != "model"}
        validate_request(body, model)
        return self.info(body, model, False)

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        return Rendered(200, self.headers("application/json; charset=UTF-8", reply.headers), body=google_pretty(count_answer(reply, info)))


PROTOCOLS = [GeminiWire(), GeminiCountWire()]
