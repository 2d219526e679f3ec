"""The Anthropic Messages wire protocol as api.anthropic.com speaks it (JSON and SSE), with its
token-count endpoint (answered with vv-llm's own count of the prompt, as the chat usage is).

Requests are checked the way the real API checks them (:mod:`.anthropic_validation`); the same
API on Vertex AI is :mod:`.anthropic_vertex`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

from vv_llm.testing.protocol import RecordedRequest, Rendered, WireProtocol
from vv_llm.testing.script import Reply, RequestInfo, split_text
from vv_llm.testing.wires._common import (
    bearer_token,
    cached_prompt_count,
    check,
    compact_json,
    finish_reason_in,
    json_body,
    message_texts,
    output_count,
    prompt_count,
    sse,
    tool_arguments,
)
from vv_llm.testing.wires.anthropic_validation import COUNT_FIELDS, validate_messages_body

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_KNOWN_ERROR_TYPES = set(ERROR_TYPES.values())
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _rand(n: int = 22) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return sse(compact_json(data), event)


def stop_reason_of(reply: Reply) -> str:
    return finish_reason_in(reply, _STOP_REASONS)


def _block_text(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return block.get("text", "")
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return " ".join(_block_text(b) for b in content if isinstance(b, dict))
        return content if isinstance(content, str) else ""
    if kind == "tool_use":
        return json.dumps(block.get("input"), ensure_ascii=False)
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_block_text(b) for b in content if isinstance(b, dict))
    return ""


class AnthropicWire(WireProtocol):
    """``POST /v1/messages`` on api.anthropic.com."""

    name = "anthropic"
    id_prefix = "msg_01"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith("/v1/messages")

    # -- auth ----------------------------------------------------------------------------
    @staticmethod
    def credential(request: RecordedRequest) -> str:
        return request.headers.get("x-api-key", "") or bearer_token(request) or ""

    def check_auth(self, request: RecordedRequest, keys: set[str]) -> bool:
        return self.credential(request) in keys

    def auth_problem(self, request: RecordedRequest) -> str | None:
        if not self.credential(request):
            return "x-api-key header is required"
        return None

    def require_credential(self, request: RecordedRequest) -> None:
        """Refuse a request without a credential (rendered as a 401 by ``render_error``)."""
        problem = self.auth_problem(request)
        if problem:
            raise ValueError(problem)

    # -- parsing -------------------------------------------------------------------------
    def parse(self, request: RecordedRequest) -> RequestInfo:
        self.require_credential(request)
        body = self.checked_body(request)
        return self.info(body, body["model"], bool(body.get("stream")))

    def checked_body(self, request: RecordedRequest, count_fields: frozenset[str] | None = None) -> dict[str, Any]:
        check(bool(request.headers.get("anthropic-version")), "anthropic-version: header is required")
        body = json_body(request, "There was an issue with your request body: it is not valid JSON")
        validate_messages_body(body, count_fields=count_fields)
        return body

    def info(self, body: dict[str, Any], model: str, stream: bool) -> RequestInfo:
        system = body.get("system")
        texts, last_user = message_texts(body["messages"], _content_text)
        texts.insert(0, system if isinstance(system, str) else " ".join(b.get("text", "") for b in system or []))
        thinking = body.get("thinking")
        return self.request_info(
            model,
            stream,
            texts,
            last_user,
            tools=[t.get("name", "") for t in body.get("tools") or []],
            include_usage=True,
            thinking=isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"),
            body=body,
            prompt={"system": body.get("system"), "messages": body["messages"]},
            prompt_tools=body.get("tools"),
            backend="anthropic",
        )

    # -- rendering -----------------------------------------------------------------------
    def headers(self, content_type: str, extra: dict[str, str]) -> dict[str, str]:
        return {
            "content-type": content_type,
            "request-id": f"req_011C{_rand(20)}",
            "anthropic-organization-id": "00000000-0000-4000-8000-0000000f4ce0",
            **extra,
        }

    @staticmethod
    def usage(reply: Reply, info: RequestInfo) -> dict[str, Any]:
        """Anthropic usage: ``input_tokens`` excludes the cache-read and cache-written tokens."""
        prompt = cached_prompt_count(reply, info)
        completion = output_count(reply, info)
        return {
            "input_tokens": prompt - reply.cached_tokens - reply.cache_creation_tokens,
            "cache_creation_input_tokens": reply.cache_creation_tokens,
            "cache_read_input_tokens": reply.cached_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": reply.cache_creation_tokens, "ephemeral_1h_input_tokens": 0},
            "output_tokens": completion,
            "service_tier": "standard",
        }

    def content_blocks(self, reply: Reply) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if reply.reasoning is not None:
            blocks.append({"type": "thinking", "thinking": reply.reasoning, "signature": reply.signature})
        if reply.content:
            blocks.append({"type": "text", "text": reply.content})
        for tool in reply.tool_calls:
            blocks.append(
                {"type": "tool_use", "id": tool.id or f"toolu_01{_rand()}", "name": tool.name, "input": tool_arguments(tool.arguments)}
            )
        return blocks

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        if info.stream:
            return Rendered(200, self.headers("text/event-stream; charset=utf-8", reply.headers), pieces=self._stream(reply, info))
        body = {
            "model": reply.model or info.model,
            "id": f"{self.id_prefix}{_rand()}",
            "type": "message",
            "role": "assistant",
            "content": self.content_blocks(reply),
            "stop_reason": stop_reason_of(reply),
            "stop_sequence": None,
            "usage": self.usage(reply, info),
        }
        return Rendered(200, self.headers("application/json", reply.headers), body=compact_json(body))

    def _stream(self, reply: Reply, info: RequestInfo) -> Iterator[tuple[str, bytes]]:
        usage = self.usage(reply, info)
        start_usage = {**usage, "output_tokens": 1}
        message: dict[str, Any] = {
            "model": reply.model or info.model,
            "id": f"{self.id_prefix}{_rand()}",
            "type": "message",
            "role": "assistant",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        }
        yield "meta", _sse("message_start", {"type": "message_start", "message": message})
        pinged = False
        for index, block in enumerate(self.content_blocks(reply)):
            kind = block["type"]
            empty = {"thinking": {"type": "thinking", "thinking": "", "signature": ""}, "text": {"type": "text", "text": ""}}.get(
                kind, {**block, "input": {}}
            )
            yield "meta", _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": empty})
            if not pinged:
                pinged = True
                yield "meta", _sse("ping", {"type": "ping"})
            if kind == "thinking":
                for piece in split_text(block["thinking"], reply.chunk_chars):
                    delta = {"type": "thinking_delta", "thinking": piece}
                    yield "content", _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                delta = {"type": "signature_delta", "signature": block["signature"]}
                yield "meta", _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            elif kind == "text":
                for piece in split_text(block["text"], reply.chunk_chars):
                    delta = {"type": "text_delta", "text": piece}
                    yield "content", _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            else:
                delta = {"type": "input_json_delta", "partial_json": ""}
                yield "meta", _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                arguments = json.dumps(block["input"], ensure_ascii=False) if block["input"] else ""
                for piece in split_text(arguments, reply.chunk_chars):
                    delta = {"type": "input_json_delta", "partial_json": piece}
                    yield "content", _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            yield "meta", _sse("content_block_stop", {"type": "content_block_stop", "index": index})
        final_usage = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")}
        yield (
            "meta",
            _sse(
                "message_delta",
                {"type": "message_delta", "delta": {"stop_reason": stop_reason_of(reply), "stop_sequence": None}, "usage": final_usage},
            ),
        )
        yield "meta", _sse("message_stop", {"type": "message_stop"})

    def refused_credential(self, status: int, message: str, request: RecordedRequest) -> tuple[int, str]:
        """A request refused for its missing credential is a 401 (not the 400 parse() raised)."""
        problem = self.auth_problem(request)
        return (401, problem) if status == 400 and problem else (status, message)

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        status, message = self.refused_credential(status, message, request)
        kind = (
            error_type
            if error_type in _KNOWN_ERROR_TYPES
            else ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        )
        head = self.headers("application/json", headers)
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": head["request-id"]}
        if status == 529:
            head.setdefault("x-should-retry", "true")
        return Rendered(status, head, body=compact_json(body))

    def malformed_piece(self) -> bytes:
        return b"event: content_block_delta\ndata: {this is not json\n\n"

    def stream_error_piece(self, message: str) -> bytes:
        return _sse(
            "error", {"type": "error", "error": {"type": "overloaded_error", "message": message}, "request_id": f"req_011C{_rand(20)}"}
        )


def count_answer(wire: AnthropicWire, reply: Reply, info: RequestInfo) -> Rendered:
    """``{"input_tokens": n}``: the prompt as the chat endpoint would bill it."""
    return Rendered(200, wire.headers("application/json", reply.headers), compact_json({"input_tokens": prompt_count(reply, info)}))


class AnthropicCountWire(AnthropicWire):
    """``POST /v1/messages/count_tokens``."""

    name = "anthropic-count"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith("/v1/messages/count_tokens")

    def parse(self, request: RecordedRequest) -> RequestInfo:
        self.require_credential(request)
        body = self.checked_body(request, COUNT_FIELDS)
        return self.info(body, body["model"], False)

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        return count_answer(self, reply, info)


PROTOCOLS = [AnthropicWire(), AnthropicCountWire()]
