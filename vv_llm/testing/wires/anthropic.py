"""The Anthropic Messages wire protocol as api.anthropic.com speaks it (JSON and SSE), and the same
API on Vertex AI (``...:rawPredict`` / ``...:streamRawPredict`` with a bearer token), with their
token-count endpoints (answered with vv-llm's own count of the prompt, as the chat usage is).

Requests are checked the way the real API checks them (required headers and fields, thinking
budget, tool_result/tool_use pairing, thinking blocks kept before tool use, at most four
cache_control breakpoints), so a conversion mistake fails here as it would in production.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

from vv_llm.testing.protocol import RecordedRequest, Rendered, WireProtocol
from vv_llm.testing.script import Reply, RequestInfo, count_tokens, prompt_tokens, split_text

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
_IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _rand(n: int = 22) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + _dumps(data) + b"\n\n"


def stop_reason_of(reply: Reply) -> str:
    reason = reply.final_finish_reason()
    return _STOP_REASONS.get(reason, reason)


def tool_input(arguments: dict[str, Any] | str) -> Any:
    if isinstance(arguments, dict):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return {"raw": arguments}


class _Invalid(ValueError):
    """A request the real API rejects with 400 invalid_request_error."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise _Invalid(message)


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


COUNT_FIELDS = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"})
"""What ``/v1/messages/count_tokens`` accepts; anything else (max_tokens, stream, sampling) is refused."""


def validate_messages_body(
    body: Any, *, need_model: bool = True, count_fields: frozenset[str] | None = None, model: str | None = None
) -> None:
    """Raise ValueError with the real API's wording for a body api.anthropic.com rejects
    (``count_fields``: a count-tokens body, which has no max_tokens and only those fields;
    ``model``: the model named in the URL, on Vertex)."""
    _check(isinstance(body, dict), "request body must be a JSON object")
    if need_model:
        _check(bool(body.get("model")), "model: Field required")
    if count_fields is None:
        from vv_llm.testing.structured_rules import check_anthropic_output_config

        check_anthropic_output_config(body, model or body.get("model"))
    if count_fields is not None:
        for name in body:
            _check(name in count_fields, f"{name}: Extra inputs are not permitted")
    else:
        _check(isinstance(body.get("max_tokens"), int) and body["max_tokens"] >= 1, "max_tokens: Field required")
    messages = body.get("messages")
    _check(isinstance(messages, list) and bool(messages), "messages: at least one message is required")
    breakpoints = 0
    system = body.get("system")
    if isinstance(system, list):
        for j, block in enumerate(system):
            _check(isinstance(block, dict) and block.get("type") == "text", f"system.{j}: Input should be a text block")
            _check(bool(block.get("text")), f"system.{j}.text: text content blocks must be non-empty")
            breakpoints += "cache_control" in block
    else:
        _check(system is None or isinstance(system, str), "system: Input should be a valid string or list of text blocks")
    tools = body.get("tools") or []
    names = set()
    for j, tool in enumerate(tools):
        _check(isinstance(tool, dict) and bool(tool.get("name")), f"tools.{j}.name: Field required")
        if "type" not in tool or tool["type"] == "custom":
            schema = tool.get("input_schema")
            _check(isinstance(schema, dict) and schema.get("type") == "object", f"tools.{j}.custom.input_schema.type: Field required")
        names.add(tool["name"])
        breakpoints += "cache_control" in tool
    choice = body.get("tool_choice")
    if choice is not None:
        _check(isinstance(choice, dict) and choice.get("type") in ("auto", "any", "tool", "none"), "tool_choice: Input tag is invalid")
        if choice["type"] == "tool":
            _check(choice.get("name") in names, f"tool_choice.name: tool {choice.get('name')!r} is not among the tools")
    thinking = body.get("thinking")
    thinking_on = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        _check(isinstance(budget, int) and budget >= 1024, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if count_fields is None:
            _check(body["max_tokens"] > budget, "`max_tokens` must be greater than `thinking.budget_tokens`.")
        _check(body.get("temperature") in (None, 1), "`temperature` may only be set to 1 when thinking is enabled.")
    previous_tool_ids: set[str] = set()
    for i, message in enumerate(messages):
        _check(
            isinstance(message, dict) and message.get("role") in ("user", "assistant"),
            f"messages.{i}.role: Input should be 'user' or 'assistant'",
        )
        content = message.get("content")
        if isinstance(content, str):
            _check(
                bool(content) or (i == len(messages) - 1 and message["role"] == "assistant"),
                f"messages.{i}: all messages must have non-empty content",
            )
            blocks: list[dict[str, Any]] = []
        else:
            _check(isinstance(content, list) and bool(content), f"messages.{i}: all messages must have non-empty content")
            blocks = content
        result_ids = set()
        for j, block in enumerate(blocks):
            where = f"messages.{i}.content.{j}"
            _check(isinstance(block, dict) and isinstance(block.get("type"), str), f"{where}: Input should be a valid content block")
            kind = block["type"]
            breakpoints += "cache_control" in block
            if kind == "text":
                _check(bool(block.get("text")), f"{where}: text content blocks must be non-empty")
            elif kind == "image":
                source = block.get("source") or {}
                if source.get("type") == "base64":
                    _check(
                        source.get("media_type") in _IMAGE_TYPES,
                        f"{where}.image.source.base64.media_type: Input should be one of {sorted(_IMAGE_TYPES)}",
                    )
                    _check(bool(source.get("data")), f"{where}.image.source.base64.data: Field required")
                else:
                    _check(source.get("type") == "url" and bool(source.get("url")), f"{where}.image.source: Input tag is invalid")
            elif kind == "tool_result":
                _check(message["role"] == "user", f"{where}: tool_result blocks are only allowed in user messages")
                tool_id = block.get("tool_use_id")
                _check(
                    tool_id in previous_tool_ids,
                    f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: {tool_id}. "
                    "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
                )
                result_ids.add(tool_id)
            elif kind in ("thinking", "redacted_thinking"):
                _check(message["role"] == "assistant", f"{where}: thinking blocks are only allowed in assistant messages")
                if kind == "thinking":
                    _check(bool(block.get("signature")), f"{where}.thinking.signature: Field required")
                else:
                    _check(bool(block.get("data")), f"{where}.redacted_thinking.data: Field required")
            elif kind == "tool_use":
                _check(message["role"] == "assistant", f"{where}: tool_use blocks are only allowed in assistant messages")
                _check(bool(block.get("id")) and bool(block.get("name")), f"{where}.tool_use: id and name are required")
                _check(isinstance(block.get("input"), dict), f"{where}.tool_use.input: Input should be a valid dictionary")
        if message["role"] == "user" and previous_tool_ids:
            missing = previous_tool_ids - result_ids
            _check(
                not missing,
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {', '.join(sorted(missing))}. "
                "Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
            )
        previous_tool_ids = {b["id"] for b in blocks if b.get("type") == "tool_use"} if message["role"] == "assistant" else set()
        if thinking_on and message["role"] == "assistant" and previous_tool_ids and i == _last_assistant(messages):
            _check(
                blocks[0].get("type") in ("thinking", "redacted_thinking"),
                f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{blocks[0].get('type')}`. "
                "When `thinking` is enabled, a final `assistant` message must start with a thinking block "
                "(preceeding the lastmost set of `tool_use` and `tool_result` blocks).",
            )
    _check(breakpoints <= 4, f"A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}.")


def _last_assistant(messages: list[dict[str, Any]]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            return i
    return -1


class AnthropicWire(WireProtocol):
    """``POST /v1/messages`` on api.anthropic.com."""

    name = "anthropic"
    id_prefix = "msg_01"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith("/v1/messages")

    # -- auth ----------------------------------------------------------------------------
    @staticmethod
    def credential(request: RecordedRequest) -> str:
        key = request.headers.get("x-api-key", "")
        auth = request.headers.get("authorization", "")
        return key or (auth[7:] if auth.lower().startswith("bearer ") else "")

    def check_auth(self, request: RecordedRequest, keys: set[str]) -> bool:
        return self.credential(request) in keys

    def auth_problem(self, request: RecordedRequest) -> str | None:
        if not self.credential(request):
            return "x-api-key header is required"
        return None

    # -- parsing -------------------------------------------------------------------------
    def parse(self, request: RecordedRequest) -> RequestInfo:
        problem = self.auth_problem(request)
        if problem:
            raise ValueError(problem)
        body = self.checked_body(request)
        return self.info(body, body["model"], bool(body.get("stream")))

    def checked_body(self, request: RecordedRequest, count_fields: frozenset[str] | None = None) -> dict[str, Any]:
        _check(bool(request.headers.get("anthropic-version")), "anthropic-version: header is required")
        try:
            body = request.json
        except ValueError:
            raise _Invalid("There was an issue with your request body: it is not valid JSON") from None
        validate_messages_body(body, count_fields=count_fields)
        return body

    def info(self, body: dict[str, Any], model: str, stream: bool) -> RequestInfo:
        system = body.get("system")
        texts = [system if isinstance(system, str) else " ".join(b.get("text", "") for b in system or [])]
        last_user = ""
        for message in body["messages"]:
            text = _content_text(message.get("content"))
            texts.append(text)
            if message.get("role") == "user":
                last_user = text
        thinking = body.get("thinking")
        return RequestInfo(
            protocol=self.name,
            model=model,
            stream=stream,
            messages_text="\n".join(t for t in texts if t),
            last_user_text=last_user,
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
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else prompt_tokens(info)
        prompt = max(prompt, reply.cached_tokens + reply.cache_creation_tokens)
        reasoning = count_tokens(reply.reasoning or "", info.model)
        completion = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else count_tokens(reply.content, info.model)
            + reasoning
            + sum(count_tokens(t.arguments_json(), info.model) + 5 for t in reply.tool_calls)
        )
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
                {"type": "tool_use", "id": tool.id or f"toolu_01{_rand()}", "name": tool.name, "input": tool_input(tool.arguments)}
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
        return Rendered(200, self.headers("application/json", reply.headers), body=_dumps(body))

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

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        problem = self.auth_problem(request)
        if status == 400 and problem:
            status, message = 401, problem
        kind = (
            error_type
            if error_type in _KNOWN_ERROR_TYPES
            else ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        )
        head = self.headers("application/json", headers)
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": head["request-id"]}
        if status == 529:
            head.setdefault("x-should-retry", "true")
        return Rendered(status, head, body=_dumps(body))

    def malformed_piece(self) -> bytes:
        return b"event: content_block_delta\ndata: {this is not json\n\n"

    def stream_error_piece(self, message: str) -> bytes:
        return _sse(
            "error", {"type": "error", "error": {"type": "overloaded_error", "message": message}, "request_id": f"req_011C{_rand(20)}"}
        )


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
        auth = request.headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else ""

    def auth_problem(self, request: RecordedRequest) -> str | None:
        if not self.credential(request):
            return (
                "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
                "or other valid authentication credential."
            )
        return None

    def answer(self, request: RecordedRequest) -> Rendered | None:
        """Refuse a bearer token the fake Google token endpoint did not issue (or that expired)."""
        try:
            from vv_llm.testing.wires.gemini import bearer_token_problem
        except ImportError:  # pragma: no cover - the Google protocols are optional
            return None
        problem = bearer_token_problem(request)
        if problem is None:
            return None
        body = {"error": {"code": 401, "message": problem, "status": "UNAUTHENTICATED"}}
        return Rendered(
            401,
            {"content-type": "application/json; charset=UTF-8", "www-authenticate": 'Bearer realm="https://accounts.google.com/"'},
            _dumps(body),
        )

    def parse(self, request: RecordedRequest) -> RequestInfo:
        body = self.vertex_body(request)
        _check("model" not in body, "model: Extra inputs are not permitted")
        model = request.path.rsplit("/models/", 1)[1].split(":")[0]
        validate_messages_body(body, need_model=False, model=model)
        streaming = request.path.endswith(":streamRawPredict")
        _check(bool(body.get("stream")) == streaming, "stream must be true with :streamRawPredict and absent with :rawPredict")
        return self.info(body, model, streaming)

    def vertex_body(self, request: RecordedRequest) -> dict[str, Any]:
        """The JSON body, once the bearer token and ``anthropic_version`` are checked."""
        problem = self.auth_problem(request)
        if problem:
            raise ValueError(problem)
        try:
            body = request.json
        except ValueError:
            raise _Invalid("Invalid JSON payload received.") from None
        _check(isinstance(body, dict), "Invalid JSON payload received.")
        version = body.get("anthropic_version")
        _check(
            isinstance(version, str) and re.fullmatch(r"(vertex-)?\d{4}-\d{2}-\d{2}", version) is not None,
            "anthropic_version: Field required (e.g. 'vertex-2023-10-16')",
        )
        return body

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        problem = self.auth_problem(request)
        if status == 400 and problem:
            status, message = 401, problem
        google = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
        if status not in google:
            return super().render_error(status, message, error_type, request, headers)
        body = {"error": {"code": status, "message": message, "status": google[status]}}
        return Rendered(status, {"content-type": "application/json; charset=UTF-8", **headers}, body=_dumps(body))


def _count_answer(wire: AnthropicWire, reply: Reply, info: RequestInfo) -> Rendered:
    """``{"input_tokens": n}``: the prompt as the chat endpoint would bill it."""
    count = reply.prompt_tokens if reply.prompt_tokens is not None else prompt_tokens(info)
    return Rendered(200, wire.headers("application/json", reply.headers), _dumps({"input_tokens": count}))


class AnthropicCountWire(AnthropicWire):
    """``POST /v1/messages/count_tokens``."""

    name = "anthropic-count"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith("/v1/messages/count_tokens")

    def parse(self, request: RecordedRequest) -> RequestInfo:
        problem = self.auth_problem(request)
        if problem:
            raise ValueError(problem)
        body = self.checked_body(request, COUNT_FIELDS)
        return self.info(body, body["model"], False)

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        return _count_answer(self, reply, info)


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
        return _count_answer(self, reply, info)


PROTOCOLS = [AnthropicWire(), VertexAnthropicWire(), AnthropicCountWire(), VertexAnthropicCountWire()]
