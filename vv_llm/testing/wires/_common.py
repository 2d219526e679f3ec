"""What the fake wires share: JSON and SSE framing, credentials, refusals, usage counts.

The framing helpers write the providers' own byte formats (held to them by the wire-fidelity
tests); the count helpers keep every wire's usage consistent with vv-llm's own token counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from vv_llm.testing.protocol import RecordedRequest
from vv_llm.testing.script import Reply, RequestInfo, count_tokens, prompt_tokens

GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
"""google.rpc status names by HTTP status, as Google APIs (Gemini, Vertex AI) name their errors."""


# -- JSON and SSE framing ---------------------------------------------------------------------
def compact_json(data: Any) -> bytes:
    """JSON without spaces, non-ASCII kept (OpenAI, Anthropic, Bedrock)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def google_json(data: Any) -> bytes:
    """Compact JSON spaced the way Google's streaming endpoints write it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ": ")).encode()


def google_pretty(data: Any) -> bytes:
    """Pretty JSON as Google's unary endpoints write it (two-space indent)."""
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


def sse(data: bytes, event: str | None = None, *, line_end: bytes = b"\n") -> bytes:
    """One server-sent event: an optional ``event:`` line, the ``data:`` line, a blank line."""
    head = b"event: " + event.encode() + line_end if event else b""
    return head + b"data: " + data + line_end + line_end


# -- requests -----------------------------------------------------------------------------------
class InvalidRequest(ValueError):
    """A request the real API rejects with its 400 (the server renders it in the wire's shape)."""


def check(condition: bool, message: str) -> None:
    """Refuse the request with ``message`` (the provider's own wording) unless ``condition``."""
    if not condition:
        raise InvalidRequest(message)


def json_body(request: RecordedRequest, message: str) -> Any:
    """The request's JSON body; ``message`` is the provider's answer to a body that is not JSON."""
    try:
        return request.json
    except ValueError:
        raise InvalidRequest(message) from None


def bearer_token(request: RecordedRequest) -> str | None:
    """What follows ``Bearer `` in the Authorization header (None: no bearer credential)."""
    auth = request.headers.get("authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else None


def message_texts(messages: Iterable[dict[str, Any]], text_of: Callable[[Any], str]) -> tuple[list[str], str]:
    """``(each message's text, the last user message's text)`` of a chat-style message list."""
    texts = []
    last_user = ""
    for message in messages:
        text = text_of(message.get("content"))
        texts.append(text)
        if message.get("role") == "user":
            last_user = text
    return texts, last_user


def tool_arguments(arguments: dict[str, Any] | str) -> Any:
    """A scripted tool call's arguments as a JSON object (text that is not JSON kept under ``raw``)."""
    if isinstance(arguments, dict):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return {"raw": arguments}


# -- answers ------------------------------------------------------------------------------------
def finish_reason_in(reply: Reply, names: dict[str, str]) -> str:
    """The reply's finish reason in a provider's vocabulary (a name it does not map is sent as is)."""
    reason = reply.final_finish_reason()
    return names.get(reason, reason)


def prompt_count(reply: Reply, info: RequestInfo) -> int:
    """Prompt tokens to report: the scripted override, else vv-llm's own count of the prompt."""
    return reply.prompt_tokens if reply.prompt_tokens is not None else prompt_tokens(info)


def cached_prompt_count(reply: Reply, info: RequestInfo) -> int:
    """The whole prompt of a provider that bills cache reads and writes apart (never fewer than those)."""
    return max(prompt_count(reply, info), reply.cached_tokens + reply.cache_creation_tokens)


def tool_call_tokens(reply: Reply, model: str, each: int = 5) -> int:
    """Tokens of the reply's tool calls: their arguments plus ``each`` per call."""
    return sum(count_tokens(t.arguments_json(), model) + each for t in reply.tool_calls)


def output_count(reply: Reply, info: RequestInfo) -> int:
    """Output tokens to report: the override, else text + reasoning + tool calls."""
    if reply.completion_tokens is not None:
        return reply.completion_tokens
    model = info.model
    return count_tokens(reply.content, model) + count_tokens(reply.reasoning or "", model) + tool_call_tokens(reply, model)
