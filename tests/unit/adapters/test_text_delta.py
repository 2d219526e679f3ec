"""The text chunk's fast constructor builds the same delta as pydantic's ``model_construct``."""

from __future__ import annotations

import copy
import pickle

from pydantic import BaseModel

from vv_llm.types.messages import ChatCompletionDeltaMessage, stream_delta, text_delta


def test_text_delta_is_model_construct_of_content_and_raw_response() -> None:
    raw = {"id": "chatcmpl-1", "choices": [{"delta": {"content": "hi"}}]}
    ours = text_delta("hi", raw)
    theirs = BaseModel.model_construct.__func__(ChatCompletionDeltaMessage, None, content="hi", raw_response=raw)  # type: ignore[attr-defined]
    assert type(ours) is ChatCompletionDeltaMessage
    assert ours == theirs == stream_delta(None, "hi", None, None, None, None, raw)  # the same values as any other text chunk
    assert list(ours.__dict__) == list(theirs.__dict__)
    assert ours.model_fields_set == theirs.model_fields_set == {"content", "raw_response"}
    assert repr(ours) == repr(theirs)
    assert ours.model_dump() == theirs.model_dump()
    assert ours.model_dump(exclude_unset=True) == theirs.model_dump(exclude_unset=True)
    assert ours.model_dump_json() == theirs.model_dump_json()
    assert ours.model_extra == theirs.model_extra
    assert copy.deepcopy(ours) == ours and pickle.loads(pickle.dumps(ours)) == ours
    assert ours.model_copy(update={"content": "x"}).content == "x"


def test_text_deltas_are_independent() -> None:
    a, b = text_delta("a", None), text_delta("b", None)
    a.content = "changed"
    a.model_fields_set.add("provider_content")
    assert b.content == "b" and "provider_content" not in b.model_fields_set
    assert text_delta("c", None).content == "c"
