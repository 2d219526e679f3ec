"""AWS Bedrock Converse API shapes, as pure functions.

Requests go through the Anthropic conversion first (``anthropic_messages``: merged turns, tool
results, thinking blocks, cache breakpoints) and are then written as Converse blocks, so the two
protocols treat a conversation identically. Thinking blocks are kept in ``provider_content`` in
Anthropic's shape on both, so a conversation can move between Anthropic, Vertex and Bedrock.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.adapters.anthropic_messages import (
    anthropic_output_format,
    apply_prompt_cache,
    claude_thinking,
    to_anthropic_messages,
    to_anthropic_tool_choice,
    to_anthropic_tools,
)
from vv_llm.errors import InvalidRequestError
from vv_llm.types.messages import ChatCompletionMessage, FunctionCall, ToolCall, Usage

if TYPE_CHECKING:
    from vv_llm.chat_clients.adapters.base import CallParams

CACHE_POINT: dict[str, Any] = {"cachePoint": {"type": "default"}}
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
# Top-level Converse fields that extra_body may set; anything else goes to the model itself.
CONVERSE_FIELDS = {
    "guardrailConfig",
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "promptVariables",
    "requestMetadata",
    "performanceConfig",
    "serviceTier",
    "outputConfig",
}
_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
_DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "text/plain": "txt",
    "text/markdown": "md",
    "text/html": "html",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}


def finish_reason(stop_reason: str | None) -> str | None:
    if stop_reason is None:
        return None
    return FINISH_REASONS.get(stop_reason, stop_reason)


def is_claude(model_id: str) -> bool:
    return "anthropic" in model_id or "claude" in model_id


# -- requests ------------------------------------------------------------------------------
def converse_max_tokens(call: CallParams) -> int:
    """``inferenceConfig.maxTokens`` as sent for ``call`` (a thinking budget included)."""
    return claude_thinking(call, is_claude(call.model_id))[0]


def converse_body(call: CallParams) -> dict[str, Any]:
    """The Converse / ConverseStream request body for ``call`` (the model id goes in the URL)."""
    system, turns = to_anthropic_messages(call.messages)
    extra = dict(call.extra_body) if call.extra_body else {}
    parallel = extra.pop("parallel_tool_calls", None)
    tools = to_anthropic_tools(call.tools) if call.tools else None
    max_tokens, thinking, output_config = claude_thinking(call, is_claude(call.model_id))
    if call.prompt_cache:
        system, tools, turns = apply_prompt_cache(system, tools, turns)
    body: dict[str, Any] = {"messages": [to_converse_message(turn, i) for i, turn in enumerate(turns)]}
    if system:
        body["system"] = to_converse_system(system)
    inference: dict[str, Any] = {"maxTokens": max_tokens}
    thinking_on = thinking is not None and thinking.get("type") != "disabled"
    if call.temperature is not None and not thinking_on:
        inference["temperature"] = call.temperature
    if call.top_p is not None:
        inference["topP"] = call.top_p
    if call.stop:
        inference["stopSequences"] = [call.stop] if isinstance(call.stop, str) else list(call.stop)
    body["inferenceConfig"] = inference
    if tools:
        body["toolConfig"] = to_converse_tool_config(tools, to_anthropic_tool_choice(call.tool_choice, parallel))
    model_fields: dict[str, Any] = {}
    if thinking is not None:
        model_fields["thinking"] = thinking
    if output_config is not None:
        model_fields["output_config"] = output_config
    for key, value in extra.items():
        if key in CONVERSE_FIELDS:
            if key == "additionalModelRequestFields":
                model_fields.update(value)
            else:
                body[key] = value
        else:
            model_fields[key] = value  # top_k and other model-native parameters
    if model_fields:
        body["additionalModelRequestFields"] = model_fields
    if call.response_format and call.response_format.get("type") == "json_schema":
        body["outputConfig"] = converse_output_config(call.response_format["json_schema"], is_claude(call.model_id))
    return body


def converse_output_config(spec: dict[str, Any], claude: bool) -> dict[str, Any]:
    """Converse ``outputConfig``: ``textFormat`` of type ``json_schema`` whose
    ``structure.jsonSchema.schema`` is the schema as a JSON *string*. Claude models take the schema
    by Anthropic's rules (closed objects, unsupported constraints moved into descriptions)."""
    schema = anthropic_output_format(spec["schema"])["schema"] if claude else spec["schema"]
    definition: dict[str, Any] = {"schema": json.dumps(schema, ensure_ascii=False, separators=(",", ":")), "name": spec["name"]}
    if spec.get("description"):
        definition["description"] = spec["description"]
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}


def to_converse_message(turn: dict[str, Any], i: int = 0) -> dict[str, Any]:
    """A Converse message for an Anthropic one."""
    content = turn["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    out: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        out.extend(to_converse_blocks(block, f"messages[{i}].content[{j}]"))
    return {"role": turn["role"], "content": out}


def to_converse_blocks(block: dict[str, Any], where: str = "content") -> list[dict[str, Any]]:
    """The Converse block(s) for one Anthropic block (a ``cachePoint`` follows a cached block)."""
    kind = block.get("type")
    if kind == "text":
        converted: dict[str, Any] = {"text": block["text"]}
    elif kind == "image":
        converted = {"image": _converse_image(block, where)}
    elif kind == "document":
        converted = {"document": _converse_document(block, where)}
    elif kind == "tool_use":
        converted = {"toolUse": {"toolUseId": block["id"], "name": block["name"], "input": block.get("input") or {}}}
    elif kind == "tool_result":
        result: dict[str, Any] = {"toolUseId": block["tool_use_id"], "content": _tool_result_content(block.get("content"), where)}
        if block.get("is_error"):
            result["status"] = "error"
        converted = {"toolResult": result}
    elif kind == "thinking":
        converted = {"reasoningContent": {"reasoningText": {"text": block.get("thinking", ""), "signature": block.get("signature", "")}}}
    elif kind == "redacted_thinking":
        converted = {"reasoningContent": {"redactedContent": block.get("data", "")}}
    elif kind is None and len(block) >= 1:
        return [dict(block)]  # already a Converse block
    else:
        raise InvalidRequestError(f"{where}: a {kind!r} block cannot be sent to Bedrock Converse")
    return [converted, CACHE_POINT] if "cache_control" in block else [converted]


def _converse_image(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source") or {}
    if source.get("type") != "base64":
        raise InvalidRequestError(
            f"{where}: Bedrock Converse takes images inline only; pass a data URL or a local file path instead of {source.get('url', '')[:60]!r}"
        )
    image_format = _IMAGE_FORMATS.get(source.get("media_type", ""))
    if image_format is None:
        raise InvalidRequestError(f"{where}: Bedrock accepts png, jpeg, gif or webp images (got {source.get('media_type')!r})")
    return {"format": image_format, "source": {"bytes": source["data"]}}


def _converse_document(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source") or {}
    doc_format = _DOCUMENT_FORMATS.get(source.get("media_type", ""))
    if source.get("type") != "base64" or doc_format is None:
        raise InvalidRequestError(f"{where}: Bedrock accepts inline pdf, csv, doc(x), xls(x), html, txt or md documents")
    # Converse document names allow letters, digits, spaces, hyphens, parentheses and brackets only.
    name = re.sub(r"[^A-Za-z0-9 \-()\[\]]", " ", block.get("title") or "document").strip() or "document"
    return {"format": doc_format, "name": re.sub(r" {2,}", " ", name)[:200], "source": {"bytes": source["data"]}}


def _tool_result_content(content: Any, where: str) -> list[dict[str, Any]]:
    if not content:
        return []
    if isinstance(content, str):
        return [{"text": content}]
    out = []
    for block in content:
        if block.get("type") == "text":
            out.append({"text": block["text"]})
        elif block.get("type") == "image":
            out.append({"image": _converse_image(block, where)})
        elif block.get("type") == "document":
            out.append({"document": _converse_document(block, where)})
        else:
            raise InvalidRequestError(f"{where}: a tool result may hold text, images and documents for Bedrock")
    return out


def to_converse_system(system: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(system, str):
        return [{"text": system}]
    out: list[dict[str, Any]] = []
    for block in system:
        out.append({"text": block["text"]})
        if "cache_control" in block:
            out.append(CACHE_POINT)
    return out


def to_converse_tool_config(tools: list[dict[str, Any]], choice: dict[str, Any] | None) -> dict[str, Any]:
    """Converse ``toolConfig`` from Anthropic tools and tool_choice.

    Converse has no ``none`` choice: the tools stay declared (history may use them) and the
    model chooses freely.
    """
    specs: list[dict[str, Any]] = []
    for tool in tools:
        if "input_schema" not in tool:
            raise InvalidRequestError(f"tool {tool.get('name')!r}: Bedrock Converse takes function tools only")
        spec: dict[str, Any] = {"name": tool["name"], "inputSchema": {"json": tool["input_schema"]}}
        if tool.get("description"):
            spec["description"] = tool["description"]
        specs.append({"toolSpec": spec})
        if "cache_control" in tool:
            specs.append(CACHE_POINT)
    config: dict[str, Any] = {"tools": specs}
    if choice is not None:
        kind = choice["type"]
        if kind == "tool":
            config["toolChoice"] = {"tool": {"name": choice["name"]}}
        elif kind in ("auto", "any"):
            config["toolChoice"] = {kind: {}}
    return config


# -- responses -----------------------------------------------------------------------------
def usage_from_converse(data: dict[str, Any] | None) -> Usage | None:
    """vv-llm usage from Converse's: ``inputTokens`` excludes cache reads and writes."""
    if not data:
        return None
    read = data.get("cacheReadInputTokens") or 0
    written = data.get("cacheWriteInputTokens") or 0
    prompt = (data.get("inputTokens") or 0) + read + written
    output = data.get("outputTokens") or 0
    return Usage.normalised(prompt=prompt, completion=output, cached=read, cache_creation=written)


def thinking_block(reasoning: dict[str, Any]) -> dict[str, Any] | None:
    """An Anthropic-shaped thinking block for a Converse ``reasoningContent``."""
    if "redactedContent" in reasoning:
        return {"type": "redacted_thinking", "data": reasoning["redactedContent"]}
    text = reasoning.get("reasoningText")
    if isinstance(text, dict):
        return {"type": "thinking", "thinking": text.get("text", ""), "signature": text.get("signature", "")}
    return None


def message_from_converse(data: dict[str, Any], endpoint_id: str | None = None) -> ChatCompletionMessage:
    """A :class:`ChatCompletionMessage` from a Converse response body."""
    message = (data.get("output") or {}).get("message") or {}
    texts: list[str] = []
    thoughts: list[str] = []
    provider: list[dict[str, Any]] = []
    calls: list[ToolCall] = []
    for block in message.get("content") or ():
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            arguments = json.dumps(use.get("input") or {}, ensure_ascii=False)
            calls.append(ToolCall(id=use["toolUseId"], function=FunctionCall(name=use["name"], arguments=arguments)))
        elif "reasoningContent" in block:
            converted = thinking_block(block["reasoningContent"])
            if converted is not None:
                provider.append(converted)
                if converted["type"] == "thinking":
                    thoughts.append(converted["thinking"])
    return ChatCompletionMessage(
        content="".join(texts) if texts or not calls else None,
        reasoning_content="".join(thoughts) if thoughts else None,
        tool_calls=calls or None,
        finish_reason=finish_reason(data.get("stopReason")),
        usage=usage_from_converse(data.get("usage")),
        endpoint_id=endpoint_id,
        provider_content=provider or None,
        raw_response=data,
    )
