"""The AWS Bedrock Runtime Converse wire protocol: ``POST /model/{modelId}/converse`` (JSON) and
``/converse-stream`` (binary ``application/vnd.amazon.eventstream`` frames, :mod:`.aws_eventstream`),
and CountTokens (``POST /model/{modelId}/count-tokens``).

Requests must carry a SigV4 ``Authorization`` header (``AWS4-HMAC-SHA256 Credential=...``) with
``x-amz-date``, or a Bedrock API key as a bearer token (:mod:`.aws_sigv4`); bodies are validated
as the service validates them (:mod:`.bedrock_validation`). Errors come back as Bedrock sends
them: ``{"message": ...}`` with ``x-amzn-errortype``.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from vv_llm.testing.protocol import RecordedRequest, Rendered, WireProtocol
from vv_llm.testing.script import Reply, RequestInfo, split_text
from vv_llm.testing.wires._common import (
    cached_prompt_count,
    check,
    compact_json,
    finish_reason_in,
    json_body,
    output_count,
    prompt_count,
)
from vv_llm.testing.wires.aws_eventstream import event_frame, exception_frame
from vv_llm.testing.wires.aws_sigv4 import access_key_of, sigv4_problem
from vv_llm.testing.wires.bedrock_validation import validate_converse, validate_shape

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
_PATH = re.compile(r"/model/(?P<model>[^/]+)/(?P<op>converse|converse-stream)$")


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
        return unquote(match["model"]), json_body(request, "Malformed input request, please reformat your input and try again.")

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
        return self.request_info(
            model,
            stream,
            texts,
            last_user,
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
        prompt = cached_prompt_count(reply, info)
        completion = output_count(reply, info)
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
        return finish_reason_in(reply, _STOP_REASONS)

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
        return Rendered(200, self.headers("application/json", reply.headers), body=compact_json(body))

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
        return Rendered(status, head, body=compact_json({"message": message}))

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
        check(isinstance(body, dict), "The request body must be a JSON object.")
        validate_shape({**body, "modelId": model}, "CountTokens")
        check(not _INFERENCE_PROFILE.match(model), "The provided model doesn't support counting tokens.")
        converse = body["input"].get("converse")
        check(isinstance(converse, dict), "This fake counts Converse input only (input.converse).")
        validate_converse(converse, model)
        return self.info(converse, model, False)

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        count = prompt_count(reply, info)
        return Rendered(200, self.headers("application/json", reply.headers), body=compact_json({"inputTokens": count}))


PROTOCOLS = [BedrockConverseWire(), BedrockCountWire()]
