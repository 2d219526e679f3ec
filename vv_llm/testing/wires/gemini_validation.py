"""The checks Google makes of a Gemini ``generateContent`` request, in its own wording.

Unknown fields, roles, one data field per part, function call/response pairing, schema fields,
and thought signatures (only those this fake issued, see :func:`issue_signature`), so a
conversion mistake fails here as it would in production. Google's JSON parser takes proto field
names (snake_case) as well as lowerCamelCase; so do these checks.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
from typing import Any

from vv_llm.testing.structured_rules import check_gemini_json_schema
from vv_llm.testing.wires._common import InvalidRequest, check

_ROLES = ("user", "model")
_PART_DATA = ("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult")
_PART_FIELDS = {*_PART_DATA, "thought", "thoughtSignature", "videoMetadata", "partMetadata", "mediaResolution"}
GENERATE_REQUEST_FIELDS = {
    "model",
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
}
"""The fields of a ``GenerateContentRequest`` (also as nested in a countTokens request)."""
_REQUEST_FIELDS = {*GENERATE_REQUEST_FIELDS, "labels"}
_GENERATION_FIELDS = {
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "thinkingConfig",
    "imageConfig",
    "mediaResolution",
}
_THINKING_FIELDS = {"includeThoughts", "thinkingBudget", "thinkingLevel"}
_SCHEMA_FIELDS = {
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
}
_SCHEMA_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL", "TYPE_UNSPECIFIED"}
_TOOL_FIELDS = {"functionDeclarations", "googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext", "retrieval", "googleMaps"}
_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")
_MEDIA_TYPES = ("image/", "audio/", "video/", "application/pdf", "text/")


_SIGNATURES_LOCK = threading.Lock()
_ISSUED_SIGNATURES: set[str] = set()


def issue_signature(response_id: str, position: int) -> str:
    """A thought signature for an answer's part, which later requests may send back."""
    signature = base64.b64encode(f"vv-llm-fake-thought:{response_id}:{position}:{secrets.token_hex(6)}".encode()).decode()
    with _SIGNATURES_LOCK:
        _ISSUED_SIGNATURES.add(signature)
    return signature


def _camel(name: str) -> str:
    """Google's JSON parser accepts proto field names (snake_case) as well as lowerCamelCase."""
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def get_field(obj: dict[str, Any], name: str) -> Any:
    """``obj[name]`` under its camelCase or its snake_case name."""
    return obj.get(name, obj.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)))


def refuse_unknown(obj: dict[str, Any], known: set[str], where: str) -> None:
    """Refuse a field Google does not know, as its JSON parser does."""
    for key in obj:
        check(_camel(key) in known, f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.")


def validate_request(body: Any, model: str) -> None:
    """Reject what generateContent rejects (raises ValueError with Google's message)."""
    check(isinstance(body, dict), "Invalid JSON payload received. Expected an object.")
    refuse_unknown(body, _REQUEST_FIELDS, "")
    contents = body.get("contents")
    check(isinstance(contents, list) and bool(contents), "* GenerateContentRequest.contents: contents is not specified\n")
    for i, content in enumerate(contents):
        where = f"contents[{i}]"
        check(isinstance(content, dict), f"Invalid value at '{where}', expected an object")
        refuse_unknown(content, {"role", "parts"}, where)
        role = content.get("role", "user")
        check(role in _ROLES, "Please use a valid role: user, model.")
        parts = content.get("parts")
        check(isinstance(parts, list) and bool(parts), f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.\n")
        for j, part in enumerate(parts):
            _validate_part(part, f"{where}.parts[{j}]", role)
    _validate_function_turns(contents, model)
    system = get_field(body, "systemInstruction")
    if system is not None:
        check(isinstance(system, dict), "Invalid value at 'system_instruction', expected an object")
        refuse_unknown(system, {"role", "parts"}, "system_instruction")
        for j, part in enumerate(system.get("parts") or []):
            check(isinstance(part, dict) and isinstance(part.get("text"), str), f"system_instruction.parts[{j}]: only text is allowed")
    declared = _validate_tools(body.get("tools"))
    _validate_tool_config(get_field(body, "toolConfig"), declared)
    _validate_generation_config(get_field(body, "generationConfig"))


def _validate_part(part: Any, where: str, role: str) -> None:
    check(isinstance(part, dict), f"Invalid value at '{where}', expected an object")
    refuse_unknown(part, _PART_FIELDS, where)
    data = [k for k in part if _camel(k) in _PART_DATA]
    check(len(data) == 1, f"* GenerateContentRequest.{where}.data: required oneof field 'data' must have one initialized field\n")
    kind = _camel(data[0])
    value = part[data[0]]
    if kind == "text":
        check(isinstance(value, str), f"Invalid value at '{where}.text' (TYPE_STRING)")
        check(
            bool(value) or role == "model",
            "Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.",
        )
    elif kind == "inlineData":
        check(isinstance(value, dict), f"Invalid value at '{where}.inline_data'")
        mime = get_field(value, "mimeType")
        check(isinstance(mime, str) and mime.startswith(_MEDIA_TYPES), f"Unsupported MIME type: {mime}")
        try:
            base64.b64decode(value.get("data") or "", validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(f"Invalid value at '{where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed") from None
        check(bool(value.get("data")), f"* GenerateContentRequest.{where}.inline_data.data: must not be empty\n")
    elif kind == "fileData":
        check(
            isinstance(value, dict) and bool(get_field(value, "fileUri")),
            f"* GenerateContentRequest.{where}.file_data.file_uri: must be set\n",
        )
        uri = get_field(value, "fileUri")
        mime = get_field(value, "mimeType")
        check(
            uri.startswith("https://generativelanguage.googleapis.com/") or uri.startswith("files/") or bool(mime),
            f"* GenerateContentRequest.{where}.file_data.mime_type: is required for {uri}\n",
        )
        check(uri.startswith(("http://", "https://", "gs://", "files/")), f"Invalid or unsupported file uri: {uri}")
    elif kind == "functionCall":
        check(role == "model", f"{where}: a function call can only come from the model")
        check(
            isinstance(value, dict) and bool(value.get("name")),
            f"* GenerateContentRequest.{where}.function_call.name: Name cannot be empty.\n",
        )
        check(
            isinstance(value.get("args", {}), dict),
            f"Invalid value at '{where}.function_call.args' (type.googleapis.com/google.protobuf.Struct)",
        )
    elif kind == "functionResponse":
        check(
            isinstance(value, dict) and bool(value.get("name")),
            f"* GenerateContentRequest.{where}.function_response.name: Name cannot be empty.\n",
        )
        check(
            isinstance(value.get("response"), dict),
            f"Invalid value at '{where}.function_response.response' (type.googleapis.com/google.protobuf.Struct)",
        )
    signature = get_field(part, "thoughtSignature")
    if signature is not None:
        check(isinstance(signature, str), f"Invalid value at '{where}.thought_signature' (TYPE_BYTES)")
        with _SIGNATURES_LOCK:
            issued = signature in _ISSUED_SIGNATURES
        check(issued, "Corrupted thought signature.")


def _validate_function_turns(contents: list[dict[str, Any]], model: str) -> None:
    """Each function-call turn is answered by one response per call, in the next turn; Gemini 3
    models need every function call of the current turn to carry its thought signature."""
    last_user_text = max(
        (i for i, c in enumerate(contents) if c.get("role", "user") == "user" and any("text" in p for p in c["parts"])), default=-1
    )
    for i, content in enumerate(contents):
        calls = [p for p in content["parts"] if "functionCall" in p or "function_call" in p]
        responses = [p for p in content["parts"] if "functionResponse" in p or "function_response" in p]
        if responses:
            previous = contents[i - 1] if i else {"parts": []}
            asked = [p for p in previous["parts"] if "functionCall" in p or "function_call" in p]
            check(
                len(asked) == len(responses),
                "Please ensure that the number of function response parts is equal to the number of function call parts "
                "of the function call turn.",
            )
        if calls:
            following = contents[i + 1] if i + 1 < len(contents) else None
            if following is not None:
                check(
                    any("functionResponse" in p or "function_response" in p for p in following["parts"]),
                    "Please ensure that function call turn comes immediately after a user turn or after a function response turn.",
                )
            if model.startswith("gemini-3") and i > last_user_text:
                for position, part in enumerate(content["parts"]):
                    if ("functionCall" in part or "function_call" in part) and not get_field(part, "thoughtSignature"):
                        name = get_field(part, "functionCall")["name"]
                        raise InvalidRequest(
                            "Function call is missing a thought_signature in functionCall parts. This is required for tools to "
                            "work correctly, and missing thought_signature may lead to degraded model performance. Additional "
                            f"data, function call `default_api:{name}` , position {position + 1}. Please refer to "
                            "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
                        )


def _validate_tools(tools: Any) -> set[str]:
    names: set[str] = set()
    if tools is None:
        return names
    check(isinstance(tools, list), "Invalid value at 'tools', expected a list")
    for i, tool in enumerate(tools):
        check(isinstance(tool, dict), f"Invalid value at 'tools[{i}]'")
        refuse_unknown(tool, _TOOL_FIELDS, f"tools[{i}]")
        for j, declaration in enumerate(get_field(tool, "functionDeclarations") or []):
            where = f"tools[{i}].function_declarations[{j}]"
            refuse_unknown(
                declaration,
                {"name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"},
                where,
            )
            name = declaration.get("name", "")
            check(
                bool(_FUNCTION_NAME.match(name)),
                f"* GenerateContentRequest.{where}.name: Invalid function name. Must start with a letter or an underscore. "
                "Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a maximum length of 128.\n",
            )
            names.add(name)
            if "parameters" in declaration:
                validate_schema(declaration["parameters"], f"{where}.parameters")
    return names


def validate_schema(schema: Any, where: str) -> None:
    """Gemini's ``Schema`` (an OpenAPI 3.0 subset), not full JSON Schema."""
    check(isinstance(schema, dict), f"Invalid value at '{where}', expected an object")
    refuse_unknown(schema, _SCHEMA_FIELDS, where)
    kind = schema.get("type")
    if kind is not None:
        check(
            isinstance(kind, str) and kind.upper() in _SCHEMA_TYPES,
            f"Invalid value at '{where}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), \"{kind}\"",
        )
        if kind.upper() == "OBJECT" and "anyOf" not in schema:
            check(bool(schema.get("properties")), f"* GenerateContentRequest.{where}.properties: should be non-empty for OBJECT type\n")
    for name, sub in (schema.get("properties") or {}).items():
        validate_schema(sub, f"{where}.properties[{name}].value")
    if "items" in schema:
        validate_schema(schema["items"], f"{where}.items")
    for k, sub in enumerate(schema.get("anyOf") or []):
        validate_schema(sub, f"{where}.any_of[{k}]")
    for required in schema.get("required") or []:
        check(
            required in (schema.get("properties") or {}),
            f"* GenerateContentRequest.{where}.required[{required}]: property is not defined\n",
        )


def _validate_tool_config(config: Any, declared: set[str]) -> None:
    if config is None:
        return
    refuse_unknown(config, {"functionCallingConfig", "retrievalConfig"}, "tool_config")
    calling = get_field(config, "functionCallingConfig") or {}
    refuse_unknown(calling, {"mode", "allowedFunctionNames", "streamFunctionCallArguments"}, "tool_config.function_calling_config")
    mode = calling.get("mode", "AUTO")
    check(
        mode in ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"),
        f"Invalid value at 'tool_config.function_calling_config.mode', \"{mode}\"",
    )
    allowed = get_field(calling, "allowedFunctionNames")
    if allowed:
        check(mode in ("ANY", "VALIDATED"), "allowed_function_names should only be set when the Mode is ANY.")
        for name in allowed:
            check(name in declared, f"allowed_function_names contains a function name not declared in tools: {name}")


def _validate_generation_config(config: Any) -> None:
    if config is None:
        return
    check(isinstance(config, dict), "Invalid value at 'generation_config'")
    refuse_unknown(config, _GENERATION_FIELDS, "generation_config")
    thinking = get_field(config, "thinkingConfig")
    if thinking is not None:
        refuse_unknown(thinking, _THINKING_FIELDS, "generation_config.thinking_config")
        budget = get_field(thinking, "thinkingBudget")
        check(budget is None or (isinstance(budget, int) and budget >= -1), "thinking_budget must be -1 (dynamic), 0 or positive")
    temperature = config.get("temperature")
    check(temperature is None or 0 <= temperature <= 2, "* GenerateContentRequest.generation_config.temperature: must be in [0, 2]\n")
    check_gemini_json_schema(config)
    schema = get_field(config, "responseSchema")
    if schema is not None:
        check(
            get_field(config, "responseMimeType") in ("application/json", "text/x.enum"),
            "* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are `application/json` and "
            "`text/x.enum` when response_schema is set.\n",
        )
        validate_schema(schema, "generation_config.response_schema")
    stops = get_field(config, "stopSequences")
    check(stops is None or (isinstance(stops, list) and len(stops) <= 5), "stop_sequences: at most 5 are allowed")
