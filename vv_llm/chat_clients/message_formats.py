"""``format_messages``: validate and normalise OpenAI-format messages (text, images, tool calls),
and convert them to a backend's own request shape.

The same conversions the clients use, exposed for callers who build requests themselves or want
to see what a backend will receive::

    format_messages(messages)                          # OpenAI shape: a list of messages
    format_messages(messages, BackendType.Anthropic)   # {"system": ..., "messages": [...]}
    format_messages(messages, BackendType.Gemini)      # {"systemInstruction": ..., "contents": [...]}
"""

from __future__ import annotations

import json
from typing import Any, Literal, overload

from vv_llm.chat_clients.adapters.anthropic_messages import to_anthropic_messages
from vv_llm.chat_clients.adapters.gemini_messages import to_gemini_contents
from vv_llm.errors import InvalidRequestError
from vv_llm.types.enums import BackendType
from vv_llm.utilities.messages import prepare_messages

_OUR_FIELDS = ("reasoning_content", "provider_content")


@overload
def format_messages(messages: list[dict[str, Any]], backend: Literal[BackendType.Anthropic, BackendType.Gemini]) -> dict[str, Any]: ...
@overload
def format_messages(
    messages: list[dict[str, Any]],
    backend: Literal[
        BackendType.OpenAI,
        BackendType.DeepSeek,
        BackendType.Qwen,
        BackendType.Groq,
        BackendType.Mistral,
        BackendType.Moonshot,
        BackendType.MiniMax,
        BackendType.Yi,
        BackendType.ZhiPuAI,
        BackendType.Baichuan,
        BackendType.StepFun,
        BackendType.XAI,
        BackendType.Ernie,
        BackendType.Local,
    ] = ...,
) -> list[dict[str, Any]]: ...
@overload
def format_messages(messages: list[dict[str, Any]], backend: BackendType | str) -> list[dict[str, Any]] | dict[str, Any]: ...
def format_messages(
    messages: list[dict[str, Any]], backend: BackendType | str = BackendType.OpenAI
) -> list[dict[str, Any]] | dict[str, Any]:
    """Check ``messages`` and return them in ``backend``'s request shape.

    Every backend: roles and parts are validated, local image paths become data URLs, and each
    ``tool`` message must answer a tool call of an earlier assistant message (a clear
    :class:`~vv_llm.errors.InvalidRequestError` otherwise).

    * OpenAI-compatible backends → a new list of messages: string ``image_url`` values become
      ``{"url": ...}``, tool-call arguments JSON strings with ``type: "function"``, tool results
      strings, and vv-llm's own fields (``reasoning_content``, ``provider_content``) are removed.
    * Anthropic → ``{"system": ..., "messages": [...]}`` (``system`` only when there is one), as
      the Messages API takes them (also on Vertex AI and Bedrock's Anthropic models).
    * Gemini → ``{"systemInstruction": ..., "contents": [...]}`` (``systemInstruction`` only when
      there is one), as ``generateContent`` takes them (also on Vertex AI).

    The input is never modified.
    """
    kind = BackendType.parse(backend)
    messages = prepare_messages(messages)
    _check_tool_pairing(messages)
    if kind is BackendType.Anthropic:
        system, turns = to_anthropic_messages(messages)
        return {"system": system, "messages": turns} if system else {"messages": turns}
    if kind is BackendType.Gemini:
        instruction, contents = to_gemini_contents(messages)
        return {"systemInstruction": instruction, "contents": contents} if instruction else {"contents": contents}
    return [_openai_message(message, i) for i, message in enumerate(messages)]


def _check_tool_pairing(messages: list[dict[str, Any]]) -> None:
    called: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if role == "assistant":
            for j, call in enumerate(message.get("tool_calls") or ()):
                if not isinstance(call, dict) or not isinstance(call.get("function"), dict) or not call["function"].get("name"):
                    raise InvalidRequestError(
                        f"messages[{i}].tool_calls[{j}] must be {{'id': ..., 'function': {{'name': ..., 'arguments': ...}}}}"
                    )
                if not call.get("id"):
                    raise InvalidRequestError(f"messages[{i}].tool_calls[{j}].id is required")
                called.add(call["id"])
        elif role == "tool" and message.get("tool_call_id") not in called:
            raise InvalidRequestError(
                f"messages[{i}] answers tool call {message.get('tool_call_id')!r}, which no earlier assistant message made"
            )


def _openai_message(message: dict[str, Any], i: int) -> dict[str, Any]:
    out = {k: v for k, v in message.items() if k not in _OUR_FIELDS}
    content = out.get("content")
    if isinstance(content, list):
        out["content"] = [_openai_part(part) for part in content]
    if out.get("role") == "assistant" and out.get("tool_calls"):
        out["tool_calls"] = [_openai_tool_call(call, i, j) for j, call in enumerate(out["tool_calls"])]
        if content == "" or content == []:
            out["content"] = None
    return out


def _openai_part(part: dict[str, Any]) -> dict[str, Any]:
    if part.get("type") == "image_url" and isinstance(part.get("image_url"), str):
        return {**part, "image_url": {"url": part["image_url"]}}
    return part


def _openai_tool_call(call: dict[str, Any], i: int, j: int) -> dict[str, Any]:
    function = dict(call["function"])
    arguments = function.get("arguments")
    if arguments is None:
        function["arguments"] = "{}"
    elif not isinstance(arguments, str):
        function["arguments"] = json.dumps(arguments, ensure_ascii=False)
    else:
        try:
            json.loads(arguments or "{}")
        except ValueError:
            raise InvalidRequestError(f"messages[{i}].tool_calls[{j}].function.arguments is not valid JSON: {arguments[:80]!r}") from None
    return {**call, "type": call.get("type") or "function", "function": function}
