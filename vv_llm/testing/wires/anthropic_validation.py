"""The checks api.anthropic.com makes of a Messages request, in its own wording.

Required fields, thinking budget, tool_result/tool_use pairing, thinking blocks kept before tool
use, at most four cache_control breakpoints — so a conversion mistake fails here as it would in
production. The Claude rules Bedrock enforces too (thinking budget, breakpoints) are shared with
:mod:`vv_llm.testing.wires.bedrock_validation`.
"""

from __future__ import annotations

from typing import Any

from vv_llm.testing.structured_rules import check_anthropic_output_config
from vv_llm.testing.wires._common import check

_IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
MAX_CACHE_BREAKPOINTS = 4
THINKING_MAX_TOKENS = "`max_tokens` must be greater than `thinking.budget_tokens`."
THINKING_TEMPERATURE = "`temperature` may only be set to 1 when thinking is enabled."


def check_thinking_budget(budget: Any) -> None:
    """Extended thinking needs a budget of at least 1024 tokens."""
    check(isinstance(budget, int) and budget >= 1024, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")


def check_cache_breakpoints(count: int) -> None:
    check(count <= MAX_CACHE_BREAKPOINTS, f"A maximum of 4 blocks with cache_control may be provided. Found {count}.")


COUNT_FIELDS = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"})
"""What ``/v1/messages/count_tokens`` accepts; anything else (max_tokens, stream, sampling) is refused."""


def validate_messages_body(
    body: Any, *, need_model: bool = True, count_fields: frozenset[str] | None = None, model: str | None = None
) -> None:
    """Raise ValueError with the real API's wording for a body api.anthropic.com rejects
    (``count_fields``: a count-tokens body, which has no max_tokens and only those fields;
    ``model``: the model named in the URL, on Vertex)."""
    check(isinstance(body, dict), "request body must be a JSON object")
    if need_model:
        check(bool(body.get("model")), "model: Field required")
    if count_fields is None:
        check_anthropic_output_config(body, model or body.get("model"))
        check(isinstance(body.get("max_tokens"), int) and body["max_tokens"] >= 1, "max_tokens: Field required")
    else:
        for name in body:
            check(name in count_fields, f"{name}: Extra inputs are not permitted")
    messages = body.get("messages")
    check(isinstance(messages, list) and bool(messages), "messages: at least one message is required")
    breakpoints = 0
    system = body.get("system")
    if isinstance(system, list):
        for j, block in enumerate(system):
            check(isinstance(block, dict) and block.get("type") == "text", f"system.{j}: Input should be a text block")
            check(bool(block.get("text")), f"system.{j}.text: text content blocks must be non-empty")
            breakpoints += "cache_control" in block
    else:
        check(system is None or isinstance(system, str), "system: Input should be a valid string or list of text blocks")
    tools = body.get("tools") or []
    names = set()
    for j, tool in enumerate(tools):
        check(isinstance(tool, dict) and bool(tool.get("name")), f"tools.{j}.name: Field required")
        if "type" not in tool or tool["type"] == "custom":
            schema = tool.get("input_schema")
            check(isinstance(schema, dict) and schema.get("type") == "object", f"tools.{j}.custom.input_schema.type: Field required")
        names.add(tool["name"])
        breakpoints += "cache_control" in tool
    choice = body.get("tool_choice")
    if choice is not None:
        check(isinstance(choice, dict) and choice.get("type") in ("auto", "any", "tool", "none"), "tool_choice: Input tag is invalid")
        if choice["type"] == "tool":
            check(choice.get("name") in names, f"tool_choice.name: tool {choice.get('name')!r} is not among the tools")
    thinking = body.get("thinking")
    thinking_on = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        check_thinking_budget(budget)
        if count_fields is None:
            check(body["max_tokens"] > budget, THINKING_MAX_TOKENS)
        check(body.get("temperature") in (None, 1), THINKING_TEMPERATURE)
    previous_tool_ids: set[str] = set()
    for i, message in enumerate(messages):
        check(
            isinstance(message, dict) and message.get("role") in ("user", "assistant"),
            f"messages.{i}.role: Input should be 'user' or 'assistant'",
        )
        content = message.get("content")
        if isinstance(content, str):
            check(
                bool(content) or (i == len(messages) - 1 and message["role"] == "assistant"),
                f"messages.{i}: all messages must have non-empty content",
            )
            blocks: list[dict[str, Any]] = []
        else:
            check(isinstance(content, list) and bool(content), f"messages.{i}: all messages must have non-empty content")
            blocks = content
        result_ids = set()
        for j, block in enumerate(blocks):
            where = f"messages.{i}.content.{j}"
            check(isinstance(block, dict) and isinstance(block.get("type"), str), f"{where}: Input should be a valid content block")
            kind = block["type"]
            breakpoints += "cache_control" in block
            if kind == "text":
                check(bool(block.get("text")), f"{where}: text content blocks must be non-empty")
            elif kind == "image":
                source = block.get("source") or {}
                if source.get("type") == "base64":
                    check(
                        source.get("media_type") in _IMAGE_TYPES,
                        f"{where}.image.source.base64.media_type: Input should be one of {sorted(_IMAGE_TYPES)}",
                    )
                    check(bool(source.get("data")), f"{where}.image.source.base64.data: Field required")
                else:
                    check(source.get("type") == "url" and bool(source.get("url")), f"{where}.image.source: Input tag is invalid")
            elif kind == "tool_result":
                check(message["role"] == "user", f"{where}: tool_result blocks are only allowed in user messages")
                tool_id = block.get("tool_use_id")
                check(
                    tool_id in previous_tool_ids,
                    f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: {tool_id}. "
                    "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
                )
                result_ids.add(tool_id)
            elif kind in ("thinking", "redacted_thinking"):
                check(message["role"] == "assistant", f"{where}: thinking blocks are only allowed in assistant messages")
                if kind == "thinking":
                    check(bool(block.get("signature")), f"{where}.thinking.signature: Field required")
                else:
                    check(bool(block.get("data")), f"{where}.redacted_thinking.data: Field required")
            elif kind == "tool_use":
                check(message["role"] == "assistant", f"{where}: tool_use blocks are only allowed in assistant messages")
                check(bool(block.get("id")) and bool(block.get("name")), f"{where}.tool_use: id and name are required")
                check(isinstance(block.get("input"), dict), f"{where}.tool_use.input: Input should be a valid dictionary")
        if message["role"] == "user" and previous_tool_ids:
            missing = previous_tool_ids - result_ids
            check(
                not missing,
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {', '.join(sorted(missing))}. "
                "Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
            )
        previous_tool_ids = {b["id"] for b in blocks if b.get("type") == "tool_use"} if message["role"] == "assistant" else set()
        if thinking_on and message["role"] == "assistant" and previous_tool_ids and i == _last_assistant(messages):
            check(
                blocks[0].get("type") in ("thinking", "redacted_thinking"),
                f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{blocks[0].get('type')}`. "
                "When `thinking` is enabled, a final `assistant` message must start with a thinking block "
                "(preceeding the lastmost set of `tool_use` and `tool_result` blocks).",
            )
    check_cache_breakpoints(breakpoints)


def _last_assistant(messages: list[dict[str, Any]]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            return i
    return -1
