"""Gemini API shapes (``generateContent``), as pure functions.

OpenAI-format messages, tools, tool_choice and response_format in → Gemini ``systemInstruction``,
``contents``, ``tools``, ``toolConfig`` and ``generationConfig`` pieces; Gemini responses out →
vv-llm's types. Shared by the Gemini and Vertex-Gemini adapters and by ``format_messages``.
Nothing here does I/O or mutates its arguments.

Images: data URLs become ``inlineData``; http(s) and ``gs://`` URLs become ``fileData`` (Google
fetches them — the Gemini API and Vertex AI both accept public/signed URLs), with the MIME type
taken from the URL's file extension; a URL whose type cannot be told is an
:class:`~vv_llm.errors.InvalidRequestError` (pass a data URL or a local path instead).

Tool calls: Gemini gives function calls no ids, so stable ids are derived from the response id,
the call's position, name and arguments. Tool results are sent as ``functionResponse`` parts
under the function name of the assistant call they answer. Parts carrying ``thoughtSignature``
are kept in ``provider_content`` and sent back verbatim on the next turn.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from typing import Any

from vv_llm.chat_clients.schemas import recursive_ref, rewrite_schema
from vv_llm.errors import InvalidRequestError
from vv_llm.types.messages import ChatCompletionMessage, FunctionCall, ToolCall, Usage
from vv_llm.utilities.media import image_url_value, inline_file
from vv_llm.utilities.messages import tool_arguments

FINISH_REASONS: dict[str, str | None] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "BLOCKLIST": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "FINISH_REASON_UNSPECIFIED": None,
}
EFFORT_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
"""``reasoning_effort`` → ``thinkingBudget`` for Gemini 2.5 models (Gemini 3 takes ``thinkingLevel``)."""
# Keys of our own message shape and Gemini part keys, to tell Gemini parts in provider_content apart.
_PART_KEYS = ("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult")
_TOOL_CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "any": "ANY"}
_SCHEMA_COPY = (
    "title",
    "description",
    "maxItems",
    "minItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "default",
    "minimum",
    "maximum",
    "propertyOrdering",
)
_SCHEMA_FORMATS = {"enum", "date-time", "int32", "int64", "float", "double"}
_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mp3", "flac": "audio/flac", "ogg": "audio/ogg", "aac": "audio/aac"}
# Common image types mimetypes may not know on every platform.
_IMAGE_EXTENSIONS = {".webp": "image/webp", ".heic": "image/heic", ".heif": "image/heif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def finish_reason(reason: str | None, has_tool_calls: bool = False) -> str | None:
    """Gemini's ``finishReason`` as an OpenAI-style finish reason (unknown ones lower-cased)."""
    if reason is None:
        return None
    if reason == "STOP" and has_tool_calls:
        return "tool_calls"
    if reason in FINISH_REASONS:
        return FINISH_REASONS[reason]
    return reason.lower()


# -- requests ------------------------------------------------------------------------------
def to_gemini_contents(messages: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``(systemInstruction, contents)`` for generateContent from OpenAI-format messages.

    System/developer messages become ``systemInstruction`` text parts; ``assistant`` turns become
    ``model`` turns (their ``provider_content`` Gemini parts verbatim when present, else text and
    ``functionCall`` parts); ``tool`` messages become ``functionResponse`` parts of a ``user``
    turn; consecutive turns of the same role are merged.
    """
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    calls: dict[str, tuple[str, str | None]] = {}
    """tool_call_id → (function name, Gemini's own call id if it gave one)."""
    for i, message in enumerate(messages):
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_system_parts(message.get("content"), i))
            continue
        if role == "user":
            turn_role, parts = "user", to_gemini_parts(message.get("content"), f"messages[{i}]")
            if not parts:
                raise InvalidRequestError(f"messages[{i}] is empty; Gemini rejects empty user turns")
        elif role == "assistant":
            turn_role, parts = "model", _model_parts(message, i, calls)
        elif role == "tool":
            turn_role, parts = "user", [_function_response(message, i, calls)]
        else:
            raise InvalidRequestError(f"messages[{i}].role {role!r} has no Gemini equivalent")
        if not parts:
            continue
        if contents and contents[-1]["role"] == turn_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": turn_role, "parts": parts})
    for content in contents:  # function responses first in a turn that also holds text
        parts = content["parts"]
        if content["role"] == "user" and len(parts) > 1 and any("functionResponse" in p for p in parts):
            content["parts"] = [p for p in parts if "functionResponse" in p] + [p for p in parts if "functionResponse" not in p]
    return ({"parts": system} if system else None), contents


def _system_parts(content: Any, i: int) -> list[dict[str, Any]]:
    parts = to_gemini_parts(content, f"messages[{i}]")
    for j, part in enumerate(parts):
        if "text" not in part:
            raise InvalidRequestError(f"messages[{i}].content[{j}]: a system message may only hold text for Gemini")
    return parts


def to_gemini_parts(content: Any, where: str = "content") -> list[dict[str, Any]]:
    """Gemini parts for an OpenAI-format ``content`` (a string or a list of parts).

    Text, ``image_url``, ``input_audio`` and ``file`` (data URL) parts are converted; empty text
    is dropped (Gemini rejects it).
    """
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequestError(f"{where}.content must be a string or a list of parts")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        if not isinstance(part, dict):
            raise InvalidRequestError(f"{at} must be a dict with a 'type'")
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise InvalidRequestError(f"{at}.text must be a string")
            if text:
                parts.append({"text": text})
        elif kind == "image_url":
            parts.append(image_part(part.get("image_url"), at))
        elif kind == "input_audio":
            parts.append(_audio_part(part.get("input_audio"), at))
        elif kind == "file":
            parts.append(_file_part(part.get("file"), at))
        elif kind is None and any(key in part for key in _PART_KEYS):
            parts.append(dict(part))  # already a Gemini part
        else:
            raise InvalidRequestError(f"{at}: part type {kind!r} cannot be sent to Gemini (text, image_url, input_audio, file)")
    return parts


def image_part(image: Any, where: str = "image_url") -> dict[str, Any]:
    """A Gemini part for an OpenAI ``image_url`` value (``inlineData`` or ``fileData``)."""
    url = image_url_value(image, where)
    if isinstance(url, tuple):
        media_type, data = url
        return {"inlineData": {"mimeType": media_type, "data": data}}
    if url.startswith(("http://", "https://", "gs://")):
        url_type = _url_media_type(url)
        if url_type is None:
            raise InvalidRequestError(
                f"{where}.image_url: cannot tell the image type of {url[:120]!r} from its name, and Gemini needs it; "
                "use a URL ending in .png, .jpg, .webp, .gif or .heic, or pass the image as a data URL or local file path"
            )
        return {"fileData": {"mimeType": url_type, "fileUri": url}}
    raise InvalidRequestError(f"{where}.image_url.url must be an http(s) or gs:// URL or a data URL (got {url[:40]!r})")


def _url_media_type(url: str) -> str | None:
    path = url.split("?", 1)[0].split("#", 1)[0]
    dot = path.rfind(".")
    extension = path[dot:].lower() if dot > path.rfind("/") else ""
    if extension in _IMAGE_EXTENSIONS:
        return _IMAGE_EXTENSIONS[extension]
    guessed = mimetypes.guess_type(path)[0] if extension else None
    return guessed if guessed and guessed.startswith("image/") else None


def _audio_part(audio: Any, where: str) -> dict[str, Any]:
    if not isinstance(audio, dict) or not audio.get("data"):
        raise InvalidRequestError(f"{where}.input_audio must be {{'data': <base64>, 'format': 'wav'|'mp3'}}")
    fmt = str(audio.get("format") or "wav").lower()
    return {"inlineData": {"mimeType": _AUDIO_TYPES.get(fmt, f"audio/{fmt}"), "data": audio["data"]}}


def _file_part(file: Any, where: str) -> dict[str, Any]:
    media_type, data = inline_file(file, where, "Gemini")
    return {"inlineData": {"mimeType": media_type, "data": data}}


def gemini_parts_of(provider_content: Any) -> list[dict[str, Any]] | None:
    """The Gemini parts kept in a message's ``provider_content``, or None (absent, or another
    provider's blocks — those carry a ``type``)."""
    if not provider_content or not isinstance(provider_content, list):
        return None
    if all(isinstance(p, dict) and "type" not in p and any(k in p for k in _PART_KEYS) for p in provider_content):
        return [dict(p) for p in provider_content]
    return None


def _model_parts(message: dict[str, Any], i: int, calls: dict[str, tuple[str, str | None]]) -> list[dict[str, Any]]:
    kept = gemini_parts_of(message.get("provider_content"))
    native_ids = [p["functionCall"].get("id") for p in kept or () if isinstance(p.get("functionCall"), dict)]
    for j, call in enumerate(message.get("tool_calls") or ()):
        name = (call.get("function") or {}).get("name")
        if not name:
            raise InvalidRequestError(f"messages[{i}].tool_calls[{j}].function.name is missing")
        native = call.get("id") if call.get("id") in native_ids else None
        if call.get("id"):
            calls[call["id"]] = (name, native)
    if kept is not None:
        return kept
    parts: list[dict[str, Any]] = []
    content = message.get("content")
    if isinstance(content, str):
        if content:
            parts.append({"text": content})
    elif content:
        parts.extend(to_gemini_parts(content, f"messages[{i}]"))
    for j, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        parts.append(
            {
                "functionCall": {
                    "name": function["name"],
                    "args": tool_arguments(function.get("arguments"), f"messages[{i}].tool_calls[{j}].function.arguments"),
                }
            }
        )
    return parts


def _function_response(message: dict[str, Any], i: int, calls: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    name, native_id = calls.get(call_id or "", (message.get("name"), None))
    if not name:
        raise InvalidRequestError(
            f"messages[{i}].tool_call_id {call_id!r} answers no earlier assistant tool call; "
            "Gemini needs the function's name (keep the assistant message with its tool_calls, or give the tool message a 'name')"
        )
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    value: Any = content
    if isinstance(content, str):
        try:
            value = json.loads(content)
        except ValueError:
            value = content
    if message.get("is_error"):
        response: dict[str, Any] = {"error": value}
    elif isinstance(value, dict):
        response = value
    else:
        response = {"output": value}
    function_response: dict[str, Any] = {"name": name, "response": response}
    if native_id:
        function_response["id"] = native_id
    return {"functionResponse": function_response}


# -- tools, tool choice, output format, thinking ----------------------------------------------
def to_gemini_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{"functionDeclarations": [...]}]`` for OpenAI-format tools; Gemini-native tool objects
    (``googleSearch``, ``codeExecution``, ``functionDeclarations``…) pass through."""
    declarations: list[dict[str, Any]] = []
    native: list[dict[str, Any]] = []
    for k, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise InvalidRequestError(f"tools[{k}] must be a dict")
        if tool.get("type") == "function" or "function" in tool:
            function = tool.get("function") or {}
            name = function.get("name")
            if not name:
                raise InvalidRequestError(f"tools[{k}].function.name is required")
            declaration: dict[str, Any] = {"name": name}
            if function.get("description"):
                declaration["description"] = function["description"]
            parameters = to_gemini_schema(function.get("parameters") or {})
            if parameters.get("properties") or parameters.get("anyOf"):
                declaration["parameters"] = parameters
            declarations.append(declaration)
        elif "type" not in tool:
            native.append(dict(tool))
        else:
            raise InvalidRequestError(f"tools[{k}]: tool type {tool['type']!r} cannot be sent to Gemini (use type 'function')")
    return ([{"functionDeclarations": declarations}] if declarations else []) + native


def to_gemini_schema(schema: Any, _root: dict[str, Any] | None = None, _depth: int = 0) -> dict[str, Any]:
    """A JSON Schema as Gemini's ``Schema`` (OpenAPI 3.0 subset): types upper-cased, ``null`` in a
    type list → ``nullable``, local ``$ref`` inlined, ``const`` → ``enum``, unsupported keywords
    (``additionalProperties``, ``$schema``, …) dropped."""
    if not isinstance(schema, dict):
        return {}
    root = _root if _root is not None else schema
    if "$ref" in schema:
        if _depth > 12:
            return {}
        target = _resolve_ref(root, schema["$ref"])
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return to_gemini_schema(merged, root, _depth + 1)
    out: dict[str, Any] = {}
    variants = schema.get("anyOf") or schema.get("oneOf")
    kind = schema.get("type")
    nullable = bool(schema.get("nullable"))
    if isinstance(kind, list):
        nullable = nullable or "null" in kind
        kinds = [t for t in kind if t != "null"]
        if len(kinds) > 1 and not variants:
            variants = [{**schema, "type": t} for t in kinds]
            kind = None
        else:
            kind = kinds[0] if kinds else None
    if variants:
        converted = [v for v in variants if not (isinstance(v, dict) and v.get("type") == "null")]
        nullable = nullable or len(converted) < len(variants)
        if len(converted) == 1:
            out = to_gemini_schema({**schema, **converted[0], "anyOf": None, "oneOf": None}, root, _depth + 1)
        else:
            out["anyOf"] = [to_gemini_schema(v, root, _depth + 1) for v in converted]
    elif len(schema.get("allOf") or ()) == 1:
        out = to_gemini_schema({**schema, **schema["allOf"][0], "allOf": None}, root, _depth + 1)
    if isinstance(kind, str) and kind:
        out["type"] = kind.upper()
    for key in _SCHEMA_COPY:
        if schema.get(key) is not None and key not in out:
            out[key] = schema[key]
    if schema.get("format") in _SCHEMA_FORMATS:
        out["format"] = schema["format"]
    values = schema.get("enum") if "enum" in schema else ([schema["const"]] if "const" in schema else None)
    if values is not None and all(isinstance(v, str) for v in values):
        out["enum"] = list(values)
        out.setdefault("type", "STRING")
    if isinstance(schema.get("properties"), dict):
        properties = {name: to_gemini_schema(sub, root, _depth + 1) for name, sub in schema["properties"].items()}
        if properties:
            out["properties"] = properties
            required = [name for name in schema.get("required") or () if name in properties]
            if required:
                out["required"] = required
    if isinstance(schema.get("items"), dict):
        out["items"] = to_gemini_schema(schema["items"], root, _depth + 1)
    if out.get("type") == "OBJECT" and not out.get("properties") and "anyOf" not in out:
        del out["type"]  # a free-form object: Gemini rejects OBJECT without properties
    if nullable:
        out["nullable"] = True
    return out


def _resolve_ref(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        return {}
    node: Any = root
    for key in ref[2:].split("/"):
        node = node.get(key.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def to_gemini_tool_config(choice: Any) -> dict[str, Any] | None:
    """``toolConfig`` for an OpenAI ``tool_choice`` (``auto``/``none``/``required``/a named function)."""
    if choice is None:
        return None
    if isinstance(choice, str):
        mode = _TOOL_CHOICE_MODES.get(choice)
        if mode is None:
            raise InvalidRequestError(f"tool_choice {choice!r} is not one of auto, none, required")
        return {"functionCallingConfig": {"mode": mode}}
    if isinstance(choice, dict):
        if "functionCallingConfig" in choice:
            return dict(choice)
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        if name:
            return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
        mode = _TOOL_CHOICE_MODES.get(str(choice.get("type")))
        if mode:
            return {"functionCallingConfig": {"mode": mode}}
    raise InvalidRequestError(
        f"tool_choice {choice!r} is not understood (auto, none, required or {{'type': 'function', 'function': {{'name': ...}}}})"
    )


JSON_SCHEMA_KEYWORDS = frozenset(
    {"$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum", "items", "prefixItems"}
    | {"minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf", "properties", "additionalProperties", "required"}
    | {"propertyOrdering"}
)
"""What ``responseJsonSchema`` supports (Gemini API reference, GenerationConfig.responseJsonSchema)."""
_RESPONSE_SCHEMA_MODELS = ("gemini-1.", "gemini-2.0")
"""Models older than Gemini 2.5 take only ``responseSchema`` (the OpenAPI subset)."""


def takes_json_schema(model_id: str) -> bool:
    """Whether the model takes ``responseJsonSchema`` (Gemini 2.5 and later)."""
    name = model_id.rsplit("/", 1)[-1]
    return not name.startswith(_RESPONSE_SCHEMA_MODELS)


def to_gemini_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema as ``responseJsonSchema`` takes it: ``const`` → a one-value ``enum``, a single
    ``allOf`` merged, siblings of ``$ref`` dropped (Gemini allows none but ``$`` keywords), other
    unsupported keywords dropped (the reply is validated locally against the full schema); a
    recursive ``$ref`` on a required path (Gemini unrolls cycles only through optional
    properties) and a multi-branch ``allOf`` are refused with the schema path."""
    recursive = recursive_ref(schema, "Gemini", required_only=True)
    if recursive:
        raise InvalidRequestError(
            f"response_format schema {recursive}: Gemini unrolls a recursive $ref only through optional properties; make it optional"
        )

    def rule(node: dict[str, Any], path: str) -> dict[str, Any]:
        if "$ref" in node:
            return {k: v for k, v in node.items() if k.startswith("$")}
        if "allOf" in node:
            parts = node.pop("allOf")
            if len(parts) != 1 or not isinstance(parts[0], dict):
                raise InvalidRequestError(f"response_format schema {path}.allOf: Gemini has no allOf; merge the schemas into one")
            node = {**parts[0], **node}
        if "const" in node:
            node["enum"] = [node.pop("const")]
        return {k: v for k, v in node.items() if k in JSON_SCHEMA_KEYWORDS}

    return rewrite_schema(schema, rule)


def response_format_config(response_format: dict[str, Any] | None, model_id: str = "") -> dict[str, Any]:
    """``generationConfig`` fields for an OpenAI ``response_format``: ``responseMimeType`` plus
    ``responseJsonSchema`` (Gemini 2.5+) or ``responseSchema`` (older models; the OpenAPI subset)."""
    if not response_format:
        return {}
    kind = response_format.get("type")
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        config: dict[str, Any] = {"responseMimeType": "application/json"}
        if schema and takes_json_schema(model_id):
            config["responseJsonSchema"] = to_gemini_json_schema(schema)
        elif schema:
            recursive = recursive_ref(schema, "Gemini")
            if recursive:
                raise InvalidRequestError(f"response_format schema {recursive}: {model_id or 'this model'} takes no recursive schemas")
            config["responseSchema"] = to_gemini_schema(schema)
        return config
    if kind in (None, "text"):
        return {}
    raise InvalidRequestError(f"response_format type {kind!r} is not one of text, json_object, json_schema")


def thinking_config(thinking: bool | dict[str, Any] | None, reasoning_effort: str | None, model_id: str) -> dict[str, Any] | None:
    """``generationConfig.thinkingConfig``: thoughts included whenever thinking is on.

    ``thinking=True`` → dynamic budget; ``{"budget_tokens": n}`` (or ``thinking_budget``) → that
    budget; ``{"level": "low"}`` → ``thinkingLevel``; ``False`` → budget 0. ``reasoning_effort``
    maps to ``thinkingLevel`` on Gemini 3 models and to a budget on older ones.
    """
    if thinking is None and reasoning_effort is None:
        return None
    if thinking is False or (isinstance(thinking, dict) and thinking.get("enabled") is False) or reasoning_effort == "none":
        return {"thinkingBudget": 0}
    config: dict[str, Any] = {"includeThoughts": True}
    if isinstance(thinking, dict):
        budget = thinking.get("budget_tokens", thinking.get("thinking_budget", thinking.get("thinkingBudget")))
        if budget is not None:
            config["thinkingBudget"] = int(budget)
        level = thinking.get("level", thinking.get("thinking_level", thinking.get("thinkingLevel")))
        if level:
            config["thinkingLevel"] = str(level)
        if thinking.get("include_thoughts") is False:
            config["includeThoughts"] = False
    if reasoning_effort and "thinkingBudget" not in config and "thinkingLevel" not in config:
        if model_id.startswith("gemini-3"):
            config["thinkingLevel"] = reasoning_effort
        elif reasoning_effort in EFFORT_BUDGETS:
            config["thinkingBudget"] = EFFORT_BUDGETS[reasoning_effort]
        else:
            raise InvalidRequestError(f"reasoning_effort {reasoning_effort!r} is not one of {', '.join(EFFORT_BUDGETS)}")
    return config


# -- responses -----------------------------------------------------------------------------
def usage_from_gemini(data: dict[str, Any] | None) -> Usage | None:
    """``usageMetadata`` as :class:`Usage`: completion includes thoughts; prompt includes cached
    and tool-use prompt tokens."""
    if not data:
        return None
    return Usage.normalised(
        prompt=(data.get("promptTokenCount") or 0) + (data.get("toolUsePromptTokenCount") or 0),
        completion=data.get("candidatesTokenCount") or 0,
        reasoning=data.get("thoughtsTokenCount") or 0,
        reasoning_in_completion=False,
        cached=data.get("cachedContentTokenCount") or 0,
    )


def tool_call_id(response_id: str | None, index: int, name: str, arguments: str) -> str:
    """A stable id for a Gemini function call (Gemini gives none)."""
    digest = hashlib.sha256(f"{response_id or ''}\x00{index}\x00{name}\x00{arguments}".encode()).hexdigest()
    return f"call_{digest[:24]}"


def function_call(part: dict[str, Any], response_id: str | None, index: int) -> ToolCall:
    """A :class:`ToolCall` for a ``functionCall`` part."""
    call = part["functionCall"]
    arguments = json.dumps(call.get("args") or {}, ensure_ascii=False)
    return ToolCall(
        id=call.get("id") or tool_call_id(response_id, index, call.get("name", ""), arguments),
        function=FunctionCall(name=call.get("name", ""), arguments=arguments),
    )


def needs_keeping(parts: list[dict[str, Any]]) -> bool:
    """Whether a reply's parts must be sent back verbatim (thought signatures, native call ids)."""
    return any("thoughtSignature" in p or (isinstance(p.get("functionCall"), dict) and p["functionCall"].get("id")) for p in parts)


def prompt_block_reason(data: dict[str, Any]) -> str | None:
    """``promptFeedback.blockReason`` when Google refused the prompt itself (no candidates)."""
    feedback = data.get("promptFeedback") or {}
    reason = feedback.get("blockReason")
    return reason if reason and not data.get("candidates") else None


def message_from_gemini(data: dict[str, Any], endpoint_id: str | None = None) -> ChatCompletionMessage:
    """A ``GenerateContentResponse`` (with at least one candidate) as a :class:`ChatCompletionMessage`."""
    candidate = (data.get("candidates") or [{}])[0]
    parts = [p for p in (candidate.get("content") or {}).get("parts") or () if isinstance(p, dict)]
    response_id = data.get("responseId")
    texts: list[str] = []
    thoughts: list[str] = []
    tool_calls: list[ToolCall] = []
    for part in parts:
        if isinstance(part.get("functionCall"), dict):
            tool_calls.append(function_call(part, response_id, len(tool_calls)))
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else texts).append(part["text"])
    content = "".join(texts) if texts or not tool_calls else None
    return ChatCompletionMessage(
        content=content,
        reasoning_content="".join(thoughts) if thoughts else None,
        tool_calls=tool_calls or None,
        finish_reason=finish_reason(candidate.get("finishReason"), bool(tool_calls)),
        usage=usage_from_gemini(data.get("usageMetadata")),
        id=response_id,
        model=data.get("modelVersion"),
        endpoint_id=endpoint_id,
        provider_content=[dict(p) for p in parts] if needs_keeping(parts) else None,
        raw_response=data,
    )


def merge_streamed_parts(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Streamed parts as one reply's parts: adjacent unsigned text pieces of the same kind
    joined; parts with a signature kept as received."""
    merged: list[dict[str, Any]] = []
    for part in parts:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and set(part) <= {"text", "thought"}
            and set(previous) <= {"text", "thought"}
            and "text" in part
            and "text" in previous
            and bool(part.get("thought")) == bool(previous.get("thought"))
        ):
            merged[-1] = {**previous, "text": previous["text"] + part["text"]}
        else:
            merged.append(dict(part))
    return merged
