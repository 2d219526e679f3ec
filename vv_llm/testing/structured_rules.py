"""The structured-output rules each real API enforces, for the fake wires to refuse what they refuse.

Each function raises ``ValueError`` (the wires answer it with their provider's 400) in the words
of the provider's documentation: OpenAI ``response_format`` (strict mode and JSON mode), Anthropic
``output_config.format`` (closed objects, supported keywords, no recursion, incompatible with
citations and with a prefilled assistant turn, supported models only), Gemini
``responseJsonSchema`` (supported keywords, ``$ref`` alone) and Bedrock ``outputConfig.textFormat``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vv_llm.settings.catalogue import catalogue
from vv_llm.testing.wires._common import check

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def catalogue_capability(model: str) -> str | None:
    """The catalogue's ``structured_output`` for a model name any backend lists (None: not listed)."""
    for entry in catalogue()["backends"].values():
        model_entry = entry["models"].get(model)
        if model_entry is not None:
            return model_entry.get("structured_output") or entry.get("structured_output")
    return None


def _subschemas(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every sub-schema with its context path (the root first)."""
    if not isinstance(schema, dict):
        return []
    found = [(path, schema)]
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items() if isinstance(schema.get(key), dict) else ():
            found += _subschemas(sub, f"{path}.{key}.{name}")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key) or ()) if isinstance(schema.get(key), list) else ():
            found += _subschemas(sub, f"{path}.{key}[{i}]")
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            found += _subschemas(schema[key], f"{path}.{key}")
    return found


# -- OpenAI ----------------------------------------------------------------------------------
def check_openai_response_format(body: dict[str, Any], model: str) -> None:
    fmt = body.get("response_format")
    if fmt is None:
        return
    check(isinstance(fmt, dict), "Invalid type for 'response_format': expected an object")
    kind = fmt.get("type")
    check(
        kind in ("text", "json_object", "json_schema"),
        f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and 'json_schema'.",
    )
    capability = catalogue_capability(model)
    if kind == "json_object":
        text = json.dumps(body.get("messages"), ensure_ascii=False).lower()
        check("json" in text, "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.")
        check(capability not in ("tool", "instruction"), "This response_format type is unavailable now")
    if kind != "json_schema":
        return
    check(capability in (None, "json_schema"), "This response_format type is unavailable now")
    spec = fmt.get("json_schema")
    check(isinstance(spec, dict), "Missing required parameter: 'response_format.json_schema'.")
    name = spec.get("name")
    check(isinstance(name, str), "Missing required parameter: 'response_format.json_schema.name'.")
    check(bool(_NAME.match(name)), f"Invalid 'response_format.json_schema.name': string does not match pattern. Got {name!r}")
    schema = spec.get("schema")
    check(isinstance(schema, dict), "Invalid type for 'response_format.json_schema.schema': expected an object")
    if spec.get("strict"):
        check(
            schema.get("type") == "object",
            f"Invalid schema for response_format '{name}': schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{schema.get('type')}\"'.",
        )
        for where, sub in _subschemas(schema):
            if sub.get("type") == "object" or "properties" in sub:
                context = f"context=({where!r})" if where else "context=()"
                check(
                    sub.get("additionalProperties") is False,
                    f"Invalid schema for response_format '{name}': In {context}, 'additionalProperties' is required to be supplied and to be false.",
                )
                missing = [p for p in sub.get("properties") or {} if p not in (sub.get("required") or ())]
                check(
                    not missing,
                    f"Invalid schema for response_format '{name}': In {context}, 'required' is required to be supplied and to be an "
                    f"array including every key in properties. Missing '{missing[0] if missing else ''}'.",
                )


# -- Anthropic -------------------------------------------------------------------------------
ANTHROPIC_KEYWORDS = frozenset(
    {"type", "properties", "required", "items", "anyOf", "allOf", "enum", "const", "$ref", "$defs", "definitions"}
    | {"description", "title", "additionalProperties", "format", "minItems", "default"}
)
ANTHROPIC_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"})


def check_anthropic_schema(schema: Any, where: str) -> None:
    """Anthropic's JSON schema rules for structured outputs (also Bedrock's, for Claude models)."""
    check(isinstance(schema, dict), f"{where}: Input should be a valid dictionary")
    for path, sub in _subschemas(schema):
        at = f"{where}{path}"
        unknown = sorted(set(sub) - ANTHROPIC_KEYWORDS)
        check(not unknown, f"{at}: JSON schema keyword '{unknown[0] if unknown else ''}' is not supported by structured outputs")
        if "format" in sub:
            check(sub["format"] in ANTHROPIC_FORMATS, f"{at}.format: string format '{sub['format']}' is not supported")
        check(sub.get("minItems") in (None, 0, 1), f"{at}.minItems: only 0 or 1 is supported")
        if sub.get("type") == "object" or "properties" in sub:
            check(
                sub.get("additionalProperties") is False,
                f"{at}: For 'object' type, 'additionalProperties' must be explicitly set to false",
            )
        ref = sub.get("$ref")
        if ref is not None:
            check(isinstance(ref, str) and ref.startswith("#/"), f"{at}.$ref: only local references are supported")
    check(not _recursive(schema), f"{where}: recursive schemas are not supported")


def _recursive(schema: dict[str, Any]) -> bool:
    def refs(node: Any) -> set[str]:
        return {sub["$ref"] for _, sub in _subschemas(node) if isinstance(sub.get("$ref"), str)}

    definitions = {f"#/{key}/{name}": sub for key in ("$defs", "definitions") for name, sub in (schema.get(key) or {}).items()}
    for start in definitions:
        seen: set[str] = set()
        todo = list(refs(definitions[start]))
        while todo:
            ref = todo.pop()
            if ref == start:
                return True
            if ref in seen or ref not in definitions:
                continue
            seen.add(ref)
            todo.extend(refs(definitions[ref]))
    return False


def check_anthropic_output_config(body: dict[str, Any], model: str | None) -> None:
    check("output_format" not in body, "output_format: this parameter has moved to output_config.format")
    config = body.get("output_config")
    if config is None:
        return
    check(isinstance(config, dict), "output_config: Input should be a valid dictionary")
    for key in config:
        check(key in ("effort", "format"), f"output_config.{key}: Extra inputs are not permitted")
    fmt = config.get("format")
    if fmt is None:
        return
    check(isinstance(fmt, dict) and fmt.get("type") == "json_schema", "output_config.format.type: Input should be 'json_schema'")
    for key in fmt:
        check(key in ("type", "schema"), f"output_config.format.{key}: Extra inputs are not permitted")
    if model is not None:
        check(catalogue_capability(model) in (None, "json_schema"), f"'{model}' does not support output_config.format (structured outputs)")
    check_anthropic_schema(fmt.get("schema"), "output_config.format.schema")
    messages = body.get("messages") or []
    check(
        not (messages and messages[-1].get("role") == "assistant"),
        "Prefilling the assistant message is not supported with structured outputs (output_config.format)",
    )
    for message in messages:
        for block in message.get("content") if isinstance(message.get("content"), list) else ():
            citations = block.get("citations") if isinstance(block, dict) else None
            check(
                not (isinstance(citations, dict) and citations.get("enabled")),
                "Citations are not supported together with structured outputs (output_config.format)",
            )


# -- Gemini ----------------------------------------------------------------------------------
GEMINI_JSON_SCHEMA_KEYWORDS = frozenset(
    {"$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum", "items", "prefixItems"}
    | {"minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf", "properties", "additionalProperties", "required"}
    | {"propertyOrdering"}
)


def check_gemini_json_schema(config: dict[str, Any]) -> None:
    schema = config.get("responseJsonSchema", config.get("response_json_schema"))
    if schema is None:
        return
    check(
        "responseSchema" not in config and "response_schema" not in config,
        "* GenerateContentRequest.generation_config: response_schema and response_json_schema cannot both be set.\n",
    )
    check(
        config.get("responseMimeType", config.get("response_mime_type")) == "application/json",
        "* GenerateContentRequest.generation_config.response_mime_type: must be application/json when response_json_schema is set.\n",
    )
    check(isinstance(schema, dict), "Invalid value at 'generation_config.response_json_schema'")
    for path, sub in _subschemas(schema):
        at = f"generation_config.response_json_schema{path}"
        unknown = sorted(set(sub) - GEMINI_JSON_SCHEMA_KEYWORDS)
        check(not unknown, f"* GenerateContentRequest.{at}: unsupported JSON Schema keyword '{unknown[0] if unknown else ''}'.\n")
        if "$ref" in sub:
            siblings = [k for k in sub if not k.startswith("$")]
            check(not siblings, f"* GenerateContentRequest.{at}: no other properties may be set alongside $ref (found {siblings}).\n")


# -- Bedrock ---------------------------------------------------------------------------------
def check_converse_output_config(body: dict[str, Any], model: str) -> None:
    config = body.get("outputConfig")
    if config is None:
        return
    check(isinstance(config, dict) and set(config) <= {"textFormat"}, "outputConfig: only textFormat is supported")
    fmt: Any = config.get("textFormat")
    check(isinstance(fmt, dict) and fmt.get("type") == "json_schema", "outputConfig.textFormat.type: Value must be json_schema")
    definition: Any = (fmt.get("structure") or {}).get("jsonSchema")
    check(isinstance(definition, dict), "outputConfig.textFormat.structure: exactly one member (jsonSchema) must be set")
    check(isinstance(definition.get("schema"), str), "outputConfig.textFormat.structure.jsonSchema.schema: must be a string")
    try:
        schema = json.loads(definition["schema"])
    except ValueError:
        raise ValueError("outputConfig.textFormat.structure.jsonSchema.schema: is not valid JSON") from None
    check(isinstance(schema, dict), "outputConfig.textFormat.structure.jsonSchema.schema: must be a JSON object")
    if "claude" in model or "anthropic." in model:
        check_anthropic_schema(schema, "outputConfig.textFormat.structure.jsonSchema.schema")
