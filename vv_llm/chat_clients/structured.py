"""Structured output, the same on every backend.

``response_format`` (OpenAI's ``json_schema`` / ``json_object`` shapes, or a pydantic model class)
is normalised once into an :class:`OutputSpec`. For each endpoint a :class:`StructuredPlan` picks
how to carry it out, from the model's ``structured_output`` capability (catalogue / settings) and
what the endpoint's protocol can express (``Adapter.structured_formats``):

1. ``json_schema`` — the provider's native schema-constrained output (the adapter translates it:
   OpenAI ``response_format``, Anthropic ``output_config.format``, Gemini ``responseJsonSchema``,
   Bedrock ``outputConfig.textFormat``);
2. ``json_object`` — the provider's JSON mode, with the schema given as an instruction;
3. ``tool`` — a forced call of one tool whose parameters are the schema (its arguments become the
   reply's content, also while streaming);
4. ``instruction`` — a system instruction only.

Whatever the mechanism, the reply is parsed and validated here against the caller's schema (or
pydantic model) and exposed as ``reply.parsed``; a reply that does not fit raises
:class:`~vv_llm.errors.StructuredOutputError` with the raw text kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.accumulator import StreamAccumulator
from vv_llm.chat_clients.adapters.base import StreamDecoder
from vv_llm.chat_clients.schemas import strict_openai_schema, validation_errors
from vv_llm.errors import InvalidRequestError, StructuredOutputError

if TYPE_CHECKING:
    from vv_llm.chat_clients.adapters.base import Adapter, CallParams
    from vv_llm.settings.schema import ModelSetting
    from vv_llm.types.messages import ChatCompletionDeltaMessage, ChatCompletionMessage

MECHANISMS = ("json_schema", "json_object", "tool", "instruction")
JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else."
_NAME = re.compile(r"[^A-Za-z0-9_-]")
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$", re.DOTALL)
WRAPPED = "value"
"""Property that carries a non-object answer in a forced tool call (tool arguments must be an object)."""


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """What the caller asked for, whatever shape they gave it in."""

    kind: str
    """``json_object`` or ``json_schema``."""
    name: str = "response"
    schema: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None
    model: type | None = None
    """The pydantic model class given as ``response_format``, if any."""

    def response_format(self) -> dict[str, Any]:
        """OpenAI's ``response_format`` shape, which every adapter translates from."""
        if self.kind == "json_object":
            return {"type": "json_object"}
        spec: dict[str, Any] = {"name": self.name, "schema": self.schema}
        if self.description:
            spec["description"] = self.description
        if self.strict is not None:
            spec["strict"] = self.strict
        return {"type": "json_schema", "json_schema": spec}

    def instruction(self) -> str:
        if self.schema is None:
            return JSON_OBJECT_INSTRUCTION
        schema = json.dumps(self.schema, ensure_ascii=False)
        return f"Respond with a single valid JSON value that matches this JSON schema, and nothing else (no code fences):\n{schema}"


def output_spec(response_format: Any) -> OutputSpec | None:
    """Normalise ``response_format``: None / ``{"type": "text"}`` → None; a dict in OpenAI's shape or
    a pydantic model class → :class:`OutputSpec`. Anything else is an InvalidRequestError."""
    if response_format is None:
        return None
    if isinstance(response_format, type):
        return _model_spec(response_format)
    if not isinstance(response_format, dict):
        raise InvalidRequestError(
            "response_format must be a dict such as {'type': 'json_schema', 'json_schema': {...}} or a pydantic model class "
            f"(got {type(response_format).__name__})"
        )
    kind = response_format.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return OutputSpec("json_object")
    if kind != "json_schema":
        raise InvalidRequestError(f"response_format.type must be text, json_object or json_schema (got {kind!r})")
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
        raise InvalidRequestError("response_format.json_schema.schema must be a JSON schema (a dict)")
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise InvalidRequestError(f"response_format.json_schema.strict must be true or false (got {strict!r})")
    name = spec.get("name") or "response"
    if not isinstance(name, str) or len(name) > 64 or _NAME.search(name):
        raise InvalidRequestError(f"response_format.json_schema.name must be a-z, A-Z, 0-9, _ or -, at most 64 characters (got {name!r})")
    return OutputSpec("json_schema", name, spec["schema"], strict, spec.get("description"))


def _model_spec(model: type) -> OutputSpec:
    from pydantic import BaseModel

    if not issubclass(model, BaseModel):
        raise InvalidRequestError(f"response_format class {model.__name__} is not a pydantic model")

    schema = model.model_json_schema()
    strict = strict_openai_schema(schema)
    name = _NAME.sub("_", model.__name__)[:64] or "response"
    description = (model.__doc__ or "").strip() or None
    if description and description.startswith(("Usage docs:", "!!! abstract")):  # pydantic's own BaseModel docstring
        description = None
    return OutputSpec("json_schema", name, strict or schema, strict is not None, description, model)


def capability(setting: ModelSetting, backend_default: str | None) -> str:
    """How the model takes structured output: its ``structured_output`` setting, else what
    ``response_format_available`` / ``function_call_available`` allow, else the backend's default."""
    if setting.structured_output:
        return setting.structured_output
    if setting.response_format_available is False:
        return "tool" if setting.function_call_available is not False else "instruction"
    return backend_default or "instruction"


@dataclass(slots=True)
class StructuredPlan:
    """How one endpoint carries out an :class:`OutputSpec`, and how its reply is read back."""

    spec: OutputSpec
    mechanism: str
    tool_name: str | None = None
    wrapped: bool = False

    # -- the request ---------------------------------------------------------------------
    def apply(self, params: CallParams) -> CallParams:
        """``params`` for this mechanism (a copy; the caller's stays as it was for other endpoints)."""
        spec = self.spec
        if self.mechanism == "json_schema":
            return replace(params, response_format=spec.response_format())
        if self.mechanism == "json_object":
            needs_word = spec.schema is not None or not _mentions_json(params.messages)
            messages = _with_instruction(params.messages, spec.instruction()) if needs_word else params.messages
            return replace(params, response_format={"type": "json_object"}, messages=messages)
        if self.mechanism == "tool":
            return replace(
                params, response_format=None, tools=[self.tool()], tool_choice={"type": "function", "function": {"name": self.tool_name}}
            )
        return replace(params, response_format=None, messages=_with_instruction(params.messages, spec.instruction()))

    def tool(self) -> dict[str, Any]:
        schema = self.spec.schema or {"type": "object"}
        if self.wrapped:
            inner = {k: v for k, v in schema.items() if k not in ("$defs", "definitions")}
            schema = {
                **{k: schema[k] for k in ("$defs", "definitions") if k in schema},
                "type": "object",
                "properties": {WRAPPED: inner},
                "required": [WRAPPED],
                "additionalProperties": False,
            }
        description = "Give your answer by calling this tool: its arguments are the answer."
        if self.spec.description:
            description += " " + self.spec.description
        return {"type": "function", "function": {"name": self.tool_name, "description": description, "parameters": schema}}

    def describe(self, adapter: Adapter, params: CallParams) -> str:
        """Where ``response_format`` went, for the request report."""
        if self.mechanism == "json_schema":
            return adapter.structured_field(params)
        if self.mechanism == "json_object":
            extra = " + the schema as an instruction" if self.spec.schema is not None else ""
            return f"{adapter.json_mode_target}{extra}"
        if self.mechanism == "tool":
            return f"a forced call of tool {self.tool_name!r}"
        return "a system instruction"

    # -- the reply -----------------------------------------------------------------------
    def delta(self, delta: ChatCompletionDeltaMessage) -> ChatCompletionDeltaMessage:
        """A streamed delta with the forced tool call's argument fragments as content."""
        if self.mechanism != "tool" or not (delta.tool_calls or delta.finish_reason == "tool_calls"):
            return delta
        text = "".join(c.function.arguments or "" for c in delta.tool_calls or () if c.function is not None)
        finish = "stop" if delta.finish_reason == "tool_calls" else delta.finish_reason
        return delta.model_copy(update={"tool_calls": None, "content": (delta.content or "") + text or None, "finish_reason": finish})

    def finish(self, message: ChatCompletionMessage) -> ChatCompletionMessage:
        """Set ``message.parsed``, or raise StructuredOutputError (the raw text kept)."""
        if self.mechanism == "tool" and message.tool_calls:
            calls = [c for c in message.tool_calls if c.function.name == self.tool_name]
            if calls:
                message.content = (message.content or "") + calls[0].function.arguments
                message.tool_calls = [c for c in message.tool_calls if c is not calls[0]] or None
                if message.finish_reason == "tool_calls":
                    message.finish_reason = "stop"
        raw = message.content
        if message.finish_reason == "length":
            raise self._error("the answer was cut off at max_tokens before the JSON was complete; raise max_tokens", raw, message)
        if message.finish_reason == "content_filter" and not raw:
            raise self._error("the model refused to answer (content filter / refusal)", raw, message)
        text = raw or ""
        fenced = _FENCE.match(text)
        if fenced and self.mechanism in ("instruction", "json_object"):
            text = fenced.group(1)
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise self._error(f"the answer is not valid JSON ({exc})", raw, message) from None
        if self.wrapped and isinstance(value, dict) and set(value) == {WRAPPED}:
            value = value[WRAPPED]
            message.content = json.dumps(value, ensure_ascii=False)
        message.parsed = self._validated(value, raw, message)
        return message

    def _validated(self, value: Any, raw: str | None, message: ChatCompletionMessage) -> Any:
        spec = self.spec
        if spec.model is not None:
            from pydantic import ValidationError

            try:
                return spec.model.model_validate(value)  # type: ignore[attr-defined]
            except ValidationError as exc:
                errors = [("$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]), e["msg"]) for e in exc.errors()]
                raise self._error(f"the answer does not match {spec.model.__name__}", raw, message, errors) from None
        if spec.schema is None:
            if not isinstance(value, dict):
                raise self._error(f"the answer is JSON but not an object (got {type(value).__name__})", raw, message)
            return value

        errors = validation_errors(value, spec.schema)
        if errors:
            raise self._error(f"the answer does not match the schema {spec.name!r}", raw, message, errors)
        return value

    def _error(
        self, problem: str, raw: str | None, message: ChatCompletionMessage, errors: list[tuple[str, str]] | None = None
    ) -> StructuredOutputError:
        detail = "; ".join(f"{path}: {text}" for path, text in (errors or [])[:5])
        return StructuredOutputError(
            f"structured output ({self.mechanism}): {problem}" + (f": {detail}" if detail else ""),
            raw=raw,
            reply=message,
            errors=errors,
            request_report=message.request_report,
        )


def plan_for(spec: OutputSpec, capable: str, adapter: Adapter, params: CallParams, tools_allowed: bool) -> StructuredPlan:
    """The mechanism for ``spec`` on this endpoint: native where the model and protocol have it,
    else JSON mode, else a forced tool call, else an instruction."""
    formats = adapter.structured_formats
    if spec.kind == "json_schema" and capable == "json_schema" and "json_schema" in formats:
        return StructuredPlan(spec, "json_schema")
    if capable in ("json_schema", "json_object") and "json_object" in formats:
        return StructuredPlan(spec, "json_object")
    if capable != "instruction" and tools_allowed and not params.tools and adapter.forced_tool_ok(params):
        name = spec.name if spec.name and spec.name[0].isalpha() else f"r_{spec.name}"
        schema = spec.schema or {"type": "object"}
        return StructuredPlan(spec, "tool", tool_name=name[:64], wrapped=schema.get("type") != "object")
    return StructuredPlan(spec, "instruction")


def _mentions_json(messages: list[dict[str, Any]]) -> bool:
    """OpenAI-style JSON mode refuses a prompt that never says "json"."""
    return any("json" in json.dumps(m.get("content"), ensure_ascii=False).lower() for m in messages)


def _with_instruction(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """``messages`` with ``text`` as a system message after the leading system messages."""
    at = 0
    while at < len(messages) and messages[at].get("role") in ("system", "developer"):
        at += 1
    return [*messages[:at], {"role": "system", "content": text}, *messages[at:]]


class ToolAsContent(StreamDecoder):
    """A stream decoder whose forced tool call's arguments come out as content deltas."""

    def __init__(self, decoder: StreamDecoder, plan: StructuredPlan):
        self._decoder = decoder
        self._plan = plan
        self.acc = StreamAccumulator(decoder.acc.endpoint_id)
        """The deltas as handed out (the wrapped decoder's ``acc`` holds them as the provider sent them)."""

    def feed(self, data: bytes) -> list[ChatCompletionDeltaMessage]:
        deltas = [self._plan.delta(d) for d in self._decoder.feed(data)]
        self.done = self._decoder.done
        return self.acc.add_all(deltas)

    def close(self) -> list[ChatCompletionDeltaMessage]:
        deltas = [self._plan.delta(d) for d in self._decoder.close()]
        self.done = self._decoder.done
        return self.acc.add_all(deltas)
