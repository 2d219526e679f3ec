"""Function-call arguments streamed as Vertex streams them (``partialArgs``), when a request opts in
with ``toolConfig.functionCallingConfig.streamFunctionCallArguments``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from vv_llm.testing.script import split_text
from vv_llm.testing.wires.gemini_validation import get_field


def streams_arguments(body: Any) -> bool:
    """Whether the request opted in to function-call arguments streamed as ``partialArgs``."""
    config = (get_field(body, "toolConfig") or {}) if isinstance(body, dict) else {}
    calling = get_field(config, "functionCallingConfig") or {} if isinstance(config, dict) else {}
    return isinstance(calling, dict) and bool(get_field(calling, "streamFunctionCallArguments"))


def _json_path(steps: list[str | int]) -> str:
    path = "$"
    for step in steps:
        if isinstance(step, int):
            path += f"[{step}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", step):
            path += f".{step}"
        else:
            path += "['" + step.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return path


def partial_args(args: Any, chunk_chars: int, steps: list[str | int] | None = None) -> Iterator[dict[str, Any]]:
    """A call's arguments as Vertex streams them: one PartialArg per value at its JSON path,
    strings in pieces of ``chunk_chars`` (all but the last with ``willContinue``)."""
    steps = steps or []
    if isinstance(args, dict):
        for key, value in args.items():
            yield from partial_args(value, chunk_chars, [*steps, str(key)])
    elif isinstance(args, list):
        for index, value in enumerate(args):
            yield from partial_args(value, chunk_chars, [*steps, index])
    elif isinstance(args, str):
        pieces = split_text(args, chunk_chars) or [""]
        for i, piece in enumerate(pieces):
            partial: dict[str, Any] = {"jsonPath": _json_path(steps), "stringValue": piece}
            if i < len(pieces) - 1:
                partial["willContinue"] = True
            yield partial
    elif isinstance(args, bool):
        yield {"jsonPath": _json_path(steps), "boolValue": args}
    elif args is None:
        yield {"jsonPath": _json_path(steps), "nullValue": "NULL_VALUE"}
    else:
        yield {"jsonPath": _json_path(steps), "numberValue": args}
