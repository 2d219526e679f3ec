"""Public types: backend identifiers, responses and usage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vv_llm.types.enums import BackendType

if TYPE_CHECKING:
    from vv_llm.types.messages import (
        ChatCompletionDeltaMessage,
        ChatCompletionMessage,
        FunctionCall,
        FunctionCallDelta,
        ToolCall,
        ToolCallDelta,
        Usage,
    )
    from vv_llm.types.report import OptionReport, RequestReport

__all__ = [
    "BackendType",
    "ChatCompletionDeltaMessage",
    "ChatCompletionMessage",
    "FunctionCall",
    "FunctionCallDelta",
    "OptionReport",
    "RequestReport",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]


def __getattr__(name: str) -> Any:
    # pydantic is imported only when a response type is first needed.
    if name in ("OptionReport", "RequestReport"):
        from vv_llm.types import report

        return getattr(report, name)
    if name in __all__:
        from vv_llm.types import messages

        return getattr(messages, name)
    raise AttributeError(f"module 'vv_llm.types' has no attribute {name!r}")
