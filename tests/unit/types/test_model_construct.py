"""Our response types' fast ``model_construct`` must build exactly what pydantic's own would."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from vv_llm.types.messages import (
    ChatCompletionDeltaMessage,
    ChatCompletionMessage,
    FunctionCall,
    FunctionCallDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    stream_delta,
)

CASES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (ChatCompletionDeltaMessage, {}),
    (ChatCompletionDeltaMessage, {"content": "hi", "role": None, "usage": Usage(prompt_tokens=3), "raw_response": {"id": "x"}}),
    (ChatCompletionDeltaMessage, {"content": "hi", "not_a_field": 1}),
    (ChatCompletionMessage, {"content": "x", "tool_calls": [ToolCall(id="c", function=FunctionCall(name="f"))]}),
    (ToolCallDelta, {"index": 2, "function": FunctionCallDelta.model_construct(arguments="{")}),
    (ToolCallDelta, {"id": "missing-required-index"}),
    (FunctionCallDelta, {"name": "f"}),
    (Usage, {"prompt_tokens": 5, "completion_tokens": 2}),
    (ToolCall, {"id": "c", "function": FunctionCall(name="f", arguments="{}")}),
]


def _pydantic_construct(cls: type[BaseModel], values: dict[str, Any], fields_set: set[str] | None = None) -> BaseModel:
    return BaseModel.model_construct.__func__(cls, fields_set, **values)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("cls", "values"), CASES)
def test_same_instance_as_pydantic(cls: type[BaseModel], values: dict[str, Any]) -> None:
    ours = cls.model_construct(**values)
    theirs = _pydantic_construct(cls, dict(values))
    assert type(ours) is cls
    assert ours == theirs
    assert list(ours.__dict__) == list(theirs.__dict__)
    assert ours.model_fields_set == theirs.model_fields_set
    assert repr(ours) == repr(theirs)
    assert ours.model_dump(exclude_unset=True) == theirs.model_dump(exclude_unset=True)
    assert ours.model_extra == theirs.model_extra


def test_explicit_fields_set_and_independent_instances() -> None:
    a = ChatCompletionDeltaMessage.model_construct({"content"}, content="a", role="assistant")
    assert a.model_fields_set == {"content"}
    b = ChatCompletionDeltaMessage.model_construct(content="b")
    b.content = "changed"
    assert a.content == "a" and ChatCompletionDeltaMessage.model_construct().content is None


def test_stream_delta_is_model_construct_of_its_seven_fields() -> None:
    usage = Usage(prompt_tokens=1)
    calls = [ToolCallDelta.model_construct(index=0, id="c")]
    values = {"role": "assistant", "content": "hi", "reasoning_content": None, "tool_calls": calls, "finish_reason": "stop"}
    values |= {"usage": usage, "raw_response": {"id": "x"}}
    ours = stream_delta(*values.values())
    theirs = _pydantic_construct(ChatCompletionDeltaMessage, dict(values))
    assert type(ours) is ChatCompletionDeltaMessage
    assert ours == theirs
    assert list(ours.__dict__) == list(theirs.__dict__)
    assert ours.model_fields_set == theirs.model_fields_set
    assert repr(ours) == repr(theirs)
    assert ours.model_dump(exclude_unset=True) == theirs.model_dump(exclude_unset=True)
    ours.model_fields_set.add("provider_content")
    assert "provider_content" not in stream_delta(None, "x", None, None, None, None, None).model_fields_set
