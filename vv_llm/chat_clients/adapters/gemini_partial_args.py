"""One Gemini function call streamed in pieces (Vertex AI's opt-in ``streamFunctionCallArguments``).

The call arrives as several ``functionCall`` parts across stream events: the first names it
(``{"name": ..., "willContinue": true}``), the next carry ``partialArgs`` — typed values at an
RFC 9535 JSON path (``{"jsonPath": "$.location", "stringValue": "Bos", "willContinue": true}``),
string pieces of one path to be joined — and an empty ``functionCall`` (or one without
``willContinue``) ends it. :class:`PartialCall` assembles them into the one call the model made.
"""

from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(r"""\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]""")


def is_partial(call: dict[str, Any]) -> bool:
    """Whether a ``functionCall`` is a piece of a streamed call rather than a whole one."""
    return bool(call.get("willContinue")) or "partialArgs" in call or not call


def json_path_steps(path: str) -> list[str | int]:
    """``$.a.b[0]['c d']`` → ``["a", "b", 0, "c d"]`` (the normalised paths Google sends)."""
    if not path.startswith("$"):
        raise ValueError(f"partialArgs jsonPath must start with $ (got {path[:80]!r})")
    steps: list[str | int] = []
    at = 1
    while at < len(path):
        match = _STEP.match(path, at)
        if match is None:
            raise ValueError(f"unsupported partialArgs jsonPath {path[:80]!r}")
        name, index, single, double = match.groups()
        if index is not None:
            steps.append(int(index))
        else:
            quoted = single if single is not None else double
            steps.append(name if name is not None else re.sub(r"\\(.)", r"\1", quoted or ""))
        at = match.end()
    return steps


def _value(arg: dict[str, Any]) -> tuple[bool, Any]:
    """(found, value) of a PartialArg's typed value."""
    for key in ("stringValue", "numberValue", "boolValue"):
        if key in arg:
            return True, arg[key]
    if "nullValue" in arg:
        return True, None
    return False, None


class PartialCall:
    """A streamed function call being assembled."""

    def __init__(self, call: dict[str, Any], part: dict[str, Any]):
        self.name: str = call.get("name") or ""
        self.id: str | None = call.get("id")
        self.args: dict[str, Any] = dict(call.get("args") or {})
        self.signature = part.get("thoughtSignature")
        self._continued: set[str] = set()
        """Paths whose last string piece said more follows."""

    def add(self, call: dict[str, Any], part: dict[str, Any]) -> bool:
        """Take the next piece; True when the call is complete."""
        self.name = self.name or call.get("name") or ""
        self.id = self.id or call.get("id")
        self.signature = self.signature or part.get("thoughtSignature")
        if isinstance(call.get("args"), dict):
            self.args.update(call["args"])
        for arg in call.get("partialArgs") or ():
            self._apply(arg)
        return not call.get("willContinue")

    def _apply(self, arg: dict[str, Any]) -> None:
        path = str(arg.get("jsonPath") or "$")
        found, value = _value(arg)
        if not found:
            return
        steps = json_path_steps(path)
        if not steps:
            if isinstance(value, dict):
                self.args.update(value)
            return
        holder: Any = self.args
        for step, following in zip(steps, [*steps[1:], None], strict=True):
            if following is None:
                break
            holder = _child(holder, step, [] if isinstance(following, int) else {})
        last = steps[-1]
        if isinstance(value, str) and path in self._continued:
            value = _get(holder, last, "") + value
        _set(holder, last, value)
        if isinstance(value, str) and arg.get("willContinue"):
            self._continued.add(path)
        else:
            self._continued.discard(path)

    def part(self) -> dict[str, Any]:
        """The assembled call as one Gemini part (as a whole call would have come)."""
        call: dict[str, Any] = {"name": self.name, "args": self.args}
        if self.id:
            call["id"] = self.id
        part: dict[str, Any] = {"functionCall": call}
        if self.signature:
            part["thoughtSignature"] = self.signature
        return part


def _child(holder: Any, step: str | int, empty: Any) -> Any:
    current = _get(holder, step, None)
    if not isinstance(current, (dict, list)):
        current = empty
        _set(holder, step, current)
    return current


def _get(holder: Any, step: str | int, default: Any) -> Any:
    if isinstance(holder, list) and isinstance(step, int):
        return holder[step] if step < len(holder) else default
    if isinstance(holder, dict):
        return holder.get(step, default)  # type: ignore[arg-type]
    return default


def _set(holder: Any, step: str | int, value: Any) -> None:
    if isinstance(holder, list) and isinstance(step, int):
        if step > len(holder) + 10_000:
            raise ValueError(f"partialArgs index {step} is far past the array's end")
        holder.extend([None] * (step + 1 - len(holder)))
        holder[step] = value
    elif isinstance(holder, dict):
        holder[str(step)] = value
    else:
        raise TypeError(f"partialArgs path step {step!r} does not fit the arguments so far")
