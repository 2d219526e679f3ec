"""The AWS Bedrock Runtime Converse wire protocol: ``POST /model/{modelId}/converse`` (JSON) and
``/converse-stream`` (binary ``application/vnd.amazon.eventstream`` frames).

Requests must carry a SigV4 ``Authorization`` header (``AWS4-HMAC-SHA256 Credential=...``) with
``x-amz-date``, or a Bedrock API key as a bearer token; bodies are validated against Bedrock's own
service model (botocore's) plus the conversation rules the service enforces. Errors come back as
Bedrock sends them: ``{"message": ...}`` with ``x-amzn-errortype``.
"""

from __future__ import annotations

import json
import re
import secrets
import struct
import uuid
from binascii import crc32
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from vv_llm.testing.protocol import RecordedRequest, Rendered, WireProtocol
from vv_llm.testing.script import Reply, RequestInfo, count_tokens, prompt_tokens, split_text

EXCEPTIONS = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "content_filtered"}
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z-]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_PATH = re.compile(r"/model/(?P<model>[^/]+)/(?P<op>converse|converse-stream)$")
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (lengths + CRC), string headers, payload, CRC."""
    encoded = b"".join(
        len(name.encode()).to_bytes(1, "big") + name.encode() + b"\x07" + len(value.encode()).to_bytes(2, "big") + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    message = prelude + struct.pack(">I", crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", crc32(message))


def event_frame(event: str, data: dict[str, Any]) -> bytes:
    payload = {**data, "p": _PADDING[: 1 + secrets.randbelow(len(_PADDING))]}
    return frame({":event-type": event, ":content-type": "application/json", ":message-type": "event"}, _dumps(payload))


def exception_frame(exception: str, message: str) -> bytes:
    headers = {":exception-type": exception, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, _dumps({"message": message}))


def sigv4_problem(request: RecordedRequest) -> tuple[str, str] | None:
    """``(exception, message)`` when the request is not SigV4-signed (nor bearer-authenticated) as Bedrock requires."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return None if auth[7:].strip() else ("UnrecognizedClientException", "The security token included in the request is invalid.")
    if not auth:
        return "MissingAuthenticationTokenException", "Missing Authentication Token"
    match = _AUTH.match(auth)
    if match is None:
        return (
            "IncompleteSignatureException",
            f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' in AWS4-HMAC-SHA256 form: {auth[:40]}",
        )
    date = request.headers.get("x-amz-date", "")
    if not _AMZ_DATE.match(date):
        return "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    signed = match["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "IncompleteSignatureException", "The host and x-amz-date headers must be signed."
    if match["date"] != date[:8]:
        return "InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP."
    if match["service"] != "bedrock":
        return "InvalidSignatureException", f"Credential should be scoped to correct service: 'bedrock'. (got {match['service']!r})"
    if "x-amz-security-token" in request.headers and "x-amz-security-token" not in signed:
        return "IncompleteSignatureException", "x-amz-security-token must be signed."
    return None


def access_key_of(request: RecordedRequest) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    match = _AUTH.match(auth)
    return match["key"] if match else ""


class _Invalid(ValueError):
    pass


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise _Invalid(message)


def _validate_shape(params: dict[str, Any], operation: str = "Converse") -> None:
    """Validate against Bedrock's service model, as the service's own front end does."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = _service_model(botocore.session)
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    if report.has_errors():
        raise _Invalid(report.generate_report())


_SERVICE_MODEL: list[Any] = []


def _service_model(session_module: Any) -> Any:
    if not _SERVICE_MODEL:
        _SERVICE_MODEL.append(session_module.get_session().get_service_model("bedrock-runtime"))
    return _SERVICE_MODEL[0]


def validate_converse(body: Any, model: str) -> None:
    """Raise ValueError with Bedrock's wording for a Converse body the service rejects."""
    _check(isinstance(body, dict), "The request body must be a JSON object.")
    _validate_shape({**body, "modelId": model})
    from vv_llm.testing.structured_rules import check_converse_output_config

    check_converse_output_config(body, model)
    messages = body.get("messages") or []
    _check(bool(messages), "The messages field is required and must not be empty.")
    _check(
        messages[0]["role"] == "user",
        "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
    )
    previous_tool_ids: set[str] = set()
    uses_tools = False
    for i, message in enumerate(messages):
        if i:
            _check(
                message["role"] != messages[i - 1]["role"],
                "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
            )
        _check(
            bool(message["content"]),
            f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again.",
        )
        result_ids = set()
        for j, block in enumerate(message["content"]):
            if "text" in block:
                _check(
                    bool(block["text"].strip()),
                    f"The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again.",
                )
            if "toolResult" in block:
                uses_tools = True
                result_ids.add(block["toolResult"]["toolUseId"])
            if "toolUse" in block:
                uses_tools = True
            if "reasoningContent" in block and "reasoningText" in block["reasoningContent"]:
                _check(
                    message["role"] == "assistant", f"messages.{i}.content.{j}: reasoning content is only allowed in assistant messages."
                )
        if result_ids:
            _check(
                result_ids <= previous_tool_ids,
                f"The toolResult blocks at messages.{i}.content contain ids that do not match the toolUse blocks of the previous turn.",
            )
        if message["role"] == "user" and previous_tool_ids:
            _check(
                previous_tool_ids <= result_ids,
                f"Expected toolResult blocks at messages.{i}.content for the following Ids: {', '.join(sorted(previous_tool_ids - result_ids))}",
            )
        previous_tool_ids = (
            {b["toolUse"]["toolUseId"] for b in message["content"] if "toolUse" in b} if message["role"] == "assistant" else set()
        )
    if uses_tools:
        _check(bool(body.get("toolConfig")), "The toolConfig field must be defined when using toolUse and toolResult content blocks.")
    fields = body.get("additionalModelRequestFields") or {}
    thinking = fields.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
        _check(isinstance(budget, int) and budget >= 1024, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        _check(isinstance(max_tokens, int) and max_tokens > (budget or 0), "`max_tokens` must be greater than `thinking.budget_tokens`.")
        _check("temperature" not in (body.get("inferenceConfig") or {}), "`temperature` may only be set to 1 when thinking is enabled.")
    breakpoints = sum(1 for m in messages for b in m["content"] if "cachePoint" in b)
    breakpoints += sum(1 for b in body.get("system") or () if "cachePoint" in b)
    breakpoints += sum(1 for t in (body.get("toolConfig") or {}).get("tools") or () if "cachePoint" in t)
    _check(breakpoints <= 4, f"A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}.")


def _text_of(blocks: list[dict[str, Any]]) -> str:
    texts = []
    for block in blocks:
        if "text" in block:
            texts.append(block["text"])
        elif "toolResult" in block:
            texts.append(_text_of(block["toolResult"].get("content") or []))
        elif "toolUse" in block:
            texts.append(json.dumps(block["toolUse"].get("input"), ensure_ascii=False))
    return " ".join(t for t in texts if t)


class BedrockConverseWire(WireProtocol):
    name = "bedrock"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and _PATH.search(path) is not None

    def check_auth(self, request: RecordedRequest, keys: set[str]) -> bool:
        return access_key_of(request) in keys

    def parse(self, request: RecordedRequest) -> RequestInfo:
        model, body = self.signed_body(request, _PATH)
        validate_converse(body, model)
        return self.info(body, model, request.path.endswith("/converse-stream"))

    @staticmethod
    def signed_body(request: RecordedRequest, path: re.Pattern[str]) -> tuple[str, Any]:
        """``(model id, JSON body)`` of a request whose SigV4 signature checks out."""
        if sigv4_problem(request):
            raise ValueError("unauthenticated")  # rendered as Bedrock's 403 by render_error
        match = path.search(request.path)
        assert match is not None
        try:
            return unquote(match["model"]), request.json
        except ValueError:
            raise _Invalid("Malformed input request, please reformat your input and try again.") from None

    def info(self, body: dict[str, Any], model: str, stream: bool) -> RequestInfo:
        texts = [_text_of(body.get("system") or [])]
        prompt = [{"role": "system", "content": texts[0]}] if texts[0] else []
        last_user = ""
        for message in body["messages"]:
            text = _text_of(message["content"])
            texts.append(text)
            prompt.append({"role": message["role"], "content": text})
            if message["role"] == "user":
                last_user = text
        declared = [t["toolSpec"] for t in (body.get("toolConfig") or {}).get("tools") or () if "toolSpec" in t]
        thinking = (body.get("additionalModelRequestFields") or {}).get("thinking")
        return RequestInfo(
            protocol=self.name,
            model=model,
            stream=stream,
            messages_text="\n".join(t for t in texts if t),
            last_user_text=last_user,
            tools=[spec["name"] for spec in declared],
            thinking=isinstance(thinking, dict) and thinking.get("type") == "enabled",
            body=body,
            prompt=prompt,
            prompt_tools=[
                {"name": s["name"], "description": s.get("description"), "input_schema": (s.get("inputSchema") or {}).get("json")}
                for s in declared
            ],
            backend="anthropic" if "claude" in model or "anthropic." in model else None,
        )

    # -- rendering -----------------------------------------------------------------------
    @staticmethod
    def headers(content_type: str, extra: dict[str, str]) -> dict[str, str]:
        return {"content-type": content_type, "x-amzn-requestid": str(uuid.uuid4()), **extra}

    @staticmethod
    def usage(reply: Reply, info: RequestInfo) -> dict[str, Any]:
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else prompt_tokens(info)
        prompt = max(prompt, reply.cached_tokens + reply.cache_creation_tokens)
        completion = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else count_tokens(reply.content, info.model)
            + count_tokens(reply.reasoning or "", info.model)
            + sum(count_tokens(t.arguments_json(), info.model) + 5 for t in reply.tool_calls)
        )
        usage = {
            "inputTokens": prompt - reply.cached_tokens - reply.cache_creation_tokens,
            "outputTokens": completion,
            "totalTokens": prompt + completion,
        }
        if reply.cached_tokens or reply.cache_creation_tokens:
            usage["cacheReadInputTokens"] = reply.cached_tokens
            usage["cacheWriteInputTokens"] = reply.cache_creation_tokens
        return usage

    @staticmethod
    def stop_reason(reply: Reply) -> str:
        reason = reply.final_finish_reason()
        return _STOP_REASONS.get(reason, reason)

    @staticmethod
    def content(reply: Reply) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if reply.reasoning is not None:
            blocks.append({"reasoningContent": {"reasoningText": {"text": reply.reasoning, "signature": reply.signature}}})
        if reply.content:
            blocks.append({"text": reply.content})
        for tool in reply.tool_calls:
            arguments = tool.arguments if isinstance(tool.arguments, dict) else json.loads(tool.arguments or "{}")
            blocks.append(
                {"toolUse": {"toolUseId": tool.id or f"tooluse_{secrets.token_urlsafe(16)}", "name": tool.name, "input": arguments}}
            )
        return blocks

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        if info.stream:
            return Rendered(200, self.headers("application/vnd.amazon.eventstream", reply.headers), pieces=self._stream(reply, info))
        body = {
            "metrics": {"latencyMs": 321},
            "output": {"message": {"content": self.content(reply), "role": "assistant"}},
            "stopReason": self.stop_reason(reply),
            "usage": self.usage(reply, info),
        }
        return Rendered(200, self.headers("application/json", reply.headers), body=_dumps(body))

    def _stream(self, reply: Reply, info: RequestInfo) -> Iterator[tuple[str, bytes]]:
        yield "meta", event_frame("messageStart", {"role": "assistant"})
        for index, block in enumerate(self.content(reply)):
            if "reasoningContent" in block:
                text = block["reasoningContent"]["reasoningText"]
                for piece in split_text(text["text"], reply.chunk_chars):
                    yield (
                        "content",
                        event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": piece}}}),
                    )
                yield (
                    "meta",
                    event_frame(
                        "contentBlockDelta", {"contentBlockIndex": index, "delta": {"reasoningContent": {"signature": text["signature"]}}}
                    ),
                )
            elif "text" in block:
                for piece in split_text(block["text"], reply.chunk_chars):
                    yield "content", event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
            else:
                use = block["toolUse"]
                start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
                yield "meta", event_frame("contentBlockStart", {"contentBlockIndex": index, "start": start})
                arguments = json.dumps(use["input"], ensure_ascii=False) if use["input"] else ""
                for piece in split_text(arguments, reply.chunk_chars):
                    yield "content", event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}})
            yield "meta", event_frame("contentBlockStop", {"contentBlockIndex": index})
        yield "meta", event_frame("messageStop", {"stopReason": self.stop_reason(reply)})
        yield "meta", event_frame("metadata", {"usage": self.usage(reply, info), "metrics": {"latencyMs": 321}})

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        problem = sigv4_problem(request)
        if status == 400 and problem:
            status = 403
            error_type, message = problem
        elif status == 401:
            status, error_type = 403, "UnrecognizedClientException"
            message = "The security token included in the request is invalid."
        name = (
            error_type
            if error_type and error_type[0].isupper()
            else EXCEPTIONS.get(status, "InternalServerException" if status >= 500 else "ValidationException")
        )
        head = self.headers("application/json", headers)
        head["x-amzn-errortype"] = f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"
        return Rendered(status, head, body=_dumps({"message": message}))

    def malformed_piece(self) -> bytes:
        good = event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}})
        return good[:-4] + b"\x00\x00\x00\x00"  # wrong message CRC

    def stream_error_piece(self, message: str) -> bytes:
        return exception_frame("serviceUnavailableException", message)


_COUNT_PATH = re.compile(r"/model/(?P<model>[^/]+)/count-tokens$")
_INFERENCE_PROFILE = re.compile(r"^(us|eu|apac|jp|au|ca|us-gov|global)\.")


class BedrockCountWire(BedrockConverseWire):
    """CountTokens: ``POST /model/{modelId}/count-tokens`` with ``{"input": {"converse": …}}`` →
    ``{"inputTokens": n}``, the prompt as Converse would bill it. Like the service, it takes
    foundation-model ids only (not cross-region inference profiles)."""

    name = "bedrock-count"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and _COUNT_PATH.search(path) is not None

    def parse(self, request: RecordedRequest) -> RequestInfo:
        model, body = self.signed_body(request, _COUNT_PATH)
        _check(isinstance(body, dict), "The request body must be a JSON object.")
        _validate_shape({**body, "modelId": model}, "CountTokens")
        _check(not _INFERENCE_PROFILE.match(model), "The provided model doesn't support counting tokens.")
        converse = body["input"].get("converse")
        _check(isinstance(converse, dict), "This fake counts Converse input only (input.converse).")
        validate_converse(converse, model)
        return self.info(converse, model, False)

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        count = reply.prompt_tokens if reply.prompt_tokens is not None else prompt_tokens(info)
        return Rendered(200, self.headers("application/json", reply.headers), body=_dumps({"inputTokens": count}))


PROTOCOLS = [BedrockConverseWire(), BedrockCountWire()]
