"""The OpenAI Chat Completions wire protocol, as api.openai.com speaks it (JSON and SSE).

Also serves Azure OpenAI deployment paths and every OpenAI-compatible backend.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from vv_llm.testing.protocol import RecordedRequest, Rendered, WireProtocol
from vv_llm.testing.script import Reply, RequestInfo, count_tokens, split_text
from vv_llm.testing.structured_rules import check_openai_response_format
from vv_llm.testing.wires._common import bearer_token, compact_json, message_texts, prompt_count, sse, tool_call_tokens

_FINGERPRINT = "fp_vvllmfake0"


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


class OpenAIWire(WireProtocol):
    name = "openai"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.endswith("/chat/completions")

    def check_auth(self, request: RecordedRequest, keys: set[str]) -> bool:
        key = bearer_token(request)
        return (key if key is not None else request.headers.get("api-key", "")) in keys

    def parse(self, request: RecordedRequest) -> RequestInfo:
        body = request.json
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
            raise ValueError("'messages' must be a non-empty array")
        model = body.get("model")
        if "/openai/deployments/" in request.path:
            model = request.path.split("/openai/deployments/")[1].split("/")[0]
        if not model:
            raise ValueError("you must provide a model parameter")
        check_openai_response_format(body, model)
        texts, last_user = message_texts(body["messages"], _text_of)
        tools = [t.get("function", {}).get("name", "") for t in body.get("tools") or []]
        return RequestInfo(
            protocol=self.name,
            model=model,
            stream=bool(body.get("stream")),
            messages_text="\n".join(texts),
            last_user_text=last_user,
            tools=tools,
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
            thinking=bool(
                body.get("enable_thinking") or body.get("reasoning_effort") or (body.get("thinking") or {}).get("type") == "enabled"
            ),
            body=body,
            prompt=body["messages"],
            prompt_tools=body.get("tools"),
        )

    # -- rendering -----------------------------------------------------------------------
    @staticmethod
    def _usage(reply: Reply, info: RequestInfo) -> dict[str, Any]:
        prompt = prompt_count(reply, info)
        reasoning = reply.reasoning_tokens if reply.reasoning_tokens is not None else count_tokens(reply.reasoning or "", info.model)
        visible = count_tokens(reply.content, info.model) + tool_call_tokens(reply, info.model)
        if reply.usage_style == "xai":  # reasoning "counted separately from completion_tokens, but in total_tokens"
            completion = reply.completion_tokens if reply.completion_tokens is not None else visible
            total = prompt + completion + reasoning
        else:
            completion = reply.completion_tokens if reply.completion_tokens is not None else visible + reasoning
            total = prompt + completion
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
            "prompt_tokens_details": {"cached_tokens": reply.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    @staticmethod
    def _headers(content_type: str, extra: dict[str, str]) -> dict[str, str]:
        return {
            "content-type": content_type,
            "x-request-id": f"req_{uuid.uuid4().hex}",
            "openai-processing-ms": "12",
            "openai-version": "2020-10-01",
            **extra,
        }

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        if info.stream:
            return Rendered(200, self._headers("text/event-stream; charset=utf-8", reply.headers), pieces=self._stream(reply, info))
        model = reply.model or info.model
        message: dict[str, Any] = {"role": "assistant", "content": reply.content or (None if reply.tool_calls else "")}
        if reply.reasoning is not None:
            if reply.reasoning_style == "think_tags":
                message["content"] = f"<think>{reply.reasoning}</think>\n\n{reply.content}"
            else:
                message["reasoning_content" if reply.reasoning_style == "field" else "reasoning"] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": t.id or f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {"name": t.name, "arguments": t.arguments_json()},
                }
                for t in reply.tool_calls
            ]
        message["refusal"] = None
        message["annotations"] = []
        body = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:29]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.final_finish_reason()}],
            "usage": self._usage(reply, info),
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
        }
        return Rendered(200, self._headers("application/json", reply.headers), body=compact_json(body))

    def _stream(self, reply: Reply, info: RequestInfo) -> Iterator[tuple[str, bytes]]:
        base: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:29]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": reply.model or info.model,
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            data = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if info.include_usage:
                data["usage"] = None
            return sse(compact_json(data))

        yield "meta", chunk({"role": "assistant", "content": "", "refusal": None})
        if reply.reasoning:
            if reply.reasoning_style == "think_tags":
                yield "content", chunk({"content": "<think>"})
                for piece in split_text(reply.reasoning, reply.chunk_chars):
                    yield "content", chunk({"content": piece})
                yield "content", chunk({"content": "</think>\n\n"})
            else:
                field = "reasoning_content" if reply.reasoning_style == "field" else "reasoning"
                for piece in split_text(reply.reasoning, reply.chunk_chars):
                    yield "content", chunk({"content": None, field: piece})
        for piece in split_text(reply.content, reply.chunk_chars):
            yield "content", chunk({"content": piece})
        for index, tool in enumerate(reply.tool_calls):
            call_id = tool.id or f"call_{uuid.uuid4().hex[:24]}"
            yield (
                "content",
                chunk(
                    {"tool_calls": [{"index": index, "id": call_id, "type": "function", "function": {"name": tool.name, "arguments": ""}}]}
                ),
            )
            for piece in split_text(tool.arguments_json(), reply.chunk_chars):
                yield "content", chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield "meta", chunk({}, reply.final_finish_reason())
        if info.include_usage:
            yield "meta", sse(compact_json({**base, "choices": [], "usage": self._usage(reply, info)}))
        yield "meta", sse(b"[DONE]")

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        kind = error_type or {
            400: "invalid_request_error",
            401: "invalid_request_error",
            404: "invalid_request_error",
            429: "requests",
        }.get(status, "server_error")
        code = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        return Rendered(status, self._headers("application/json", headers), body=compact_json(body))

    def stream_error_piece(self, message: str) -> bytes:
        return sse(compact_json({"error": {"message": message, "type": "server_error", "param": None, "code": None}}))


PROTOCOLS = [OpenAIWire()]
