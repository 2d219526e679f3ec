"""The checks Bedrock makes of a Converse request, in its own wording: the body against Bedrock's
service model (botocore's, as the service's front end validates it), then the conversation rules
the service enforces (alternating roles, tool use/result pairing, Claude's thinking budget and
cache breakpoints)."""

from __future__ import annotations

from typing import Any

from vv_llm.testing.structured_rules import check_converse_output_config
from vv_llm.testing.wires._common import InvalidRequest, check
from vv_llm.testing.wires.anthropic_validation import (
    THINKING_MAX_TOKENS,
    THINKING_TEMPERATURE,
    check_cache_breakpoints,
    check_thinking_budget,
)


def validate_shape(params: dict[str, Any], operation: str = "Converse") -> None:
    """Validate against Bedrock's service model, as the service's own front end does."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = _service_model(botocore.session)
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    if report.has_errors():
        raise InvalidRequest(report.generate_report())


_SERVICE_MODEL: list[Any] = []


def _service_model(session_module: Any) -> Any:
    if not _SERVICE_MODEL:
        _SERVICE_MODEL.append(session_module.get_session().get_service_model("bedrock-runtime"))
    return _SERVICE_MODEL[0]


def validate_converse(body: Any, model: str) -> None:
    """Raise ValueError with Bedrock's wording for a Converse body the service rejects."""
    check(isinstance(body, dict), "The request body must be a JSON object.")
    validate_shape({**body, "modelId": model})
    check_converse_output_config(body, model)
    messages = body.get("messages") or []
    check(bool(messages), "The messages field is required and must not be empty.")
    check(
        messages[0]["role"] == "user",
        "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
    )
    previous_tool_ids: set[str] = set()
    uses_tools = False
    for i, message in enumerate(messages):
        if i:
            check(
                message["role"] != messages[i - 1]["role"],
                "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
            )
        check(
            bool(message["content"]),
            f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again.",
        )
        result_ids = set()
        for j, block in enumerate(message["content"]):
            if "text" in block:
                check(
                    bool(block["text"].strip()),
                    f"The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again.",
                )
            if "toolResult" in block:
                uses_tools = True
                result_ids.add(block["toolResult"]["toolUseId"])
            if "toolUse" in block:
                uses_tools = True
            if "reasoningContent" in block and "reasoningText" in block["reasoningContent"]:
                check(message["role"] == "assistant", f"messages.{i}.content.{j}: reasoning content is only allowed in assistant messages.")
        if result_ids:
            check(
                result_ids <= previous_tool_ids,
                f"The toolResult blocks at messages.{i}.content contain ids that do not match the toolUse blocks of the previous turn.",
            )
        if message["role"] == "user" and previous_tool_ids:
            check(
                previous_tool_ids <= result_ids,
                f"Expected toolResult blocks at messages.{i}.content for the following Ids: {', '.join(sorted(previous_tool_ids - result_ids))}",
            )
        previous_tool_ids = (
            {b["toolUse"]["toolUseId"] for b in message["content"] if "toolUse" in b} if message["role"] == "assistant" else set()
        )
    if uses_tools:
        check(bool(body.get("toolConfig")), "The toolConfig field must be defined when using toolUse and toolResult content blocks.")
    fields = body.get("additionalModelRequestFields") or {}
    thinking = fields.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
        check_thinking_budget(budget)
        check(isinstance(max_tokens, int) and max_tokens > (budget or 0), THINKING_MAX_TOKENS)
        check("temperature" not in (body.get("inferenceConfig") or {}), THINKING_TEMPERATURE)
    breakpoints = sum(1 for m in messages for b in m["content"] if "cachePoint" in b)
    breakpoints += sum(1 for b in body.get("system") or () if "cachePoint" in b)
    breakpoints += sum(1 for t in (body.get("toolConfig") or {}).get("tools") or () if "cachePoint" in t)
    check_cache_breakpoints(breakpoints)
