"""What the fake server answers when a request asks for structured output.

Reads the structured-output fields of each wire protocol's request (OpenAI ``response_format`` or
a forced tool, Anthropic ``output_config.format`` or a forced tool, Gemini ``responseJsonSchema`` /
``responseSchema`` / JSON mime type or a forced function, Bedrock ``outputConfig.textFormat`` or a
forced tool) and builds a small value that fits the schema, so the echo reply stays valid.
"""

from __future__ import annotations

import json
from typing import Any

_MISSING = object()


def structured_request(protocol: str, body: Any) -> tuple[dict[str, Any] | None, str | None] | None:
    """``(schema or None, forced tool name or None)`` when ``body`` asks for JSON, else None."""
    if not isinstance(body, dict):
        return None
    if protocol == "openai":
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return (fmt.get("json_schema") or {}).get("schema"), None
        if fmt.get("type") == "json_object":
            return None, None
        name = ((body.get("tool_choice") or {}).get("function") or {}).get("name") if isinstance(body.get("tool_choice"), dict) else None
        for tool in body.get("tools") or ():
            function = tool.get("function") or {}
            if name and function.get("name") == name:
                return function.get("parameters"), name
        return None
    if protocol in ("anthropic", "vertex-anthropic"):
        fmt = (body.get("output_config") or {}).get("format")
        if isinstance(fmt, dict):
            return fmt.get("schema"), None
        choice = body.get("tool_choice") or {}
        for tool in body.get("tools") or () if choice.get("type") == "tool" else ():
            if tool.get("name") == choice.get("name"):
                return tool.get("input_schema"), tool["name"]
        return None
    if protocol in ("gemini", "vertex-gemini"):
        config = body.get("generationConfig") or {}
        if config.get("responseMimeType") == "application/json":
            return config.get("responseJsonSchema") or config.get("responseSchema"), None
        calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
        names = calling.get("allowedFunctionNames") or []
        if calling.get("mode") == "ANY" and len(names) == 1:
            for tool in body.get("tools") or ():
                for declaration in tool.get("functionDeclarations") or ():
                    if declaration.get("name") == names[0]:
                        return declaration.get("parameters"), names[0]
        return None
    if protocol == "bedrock":
        fmt = (body.get("outputConfig") or {}).get("textFormat")
        if isinstance(fmt, dict):
            return json.loads(fmt["structure"]["jsonSchema"]["schema"]), None
        config = body.get("toolConfig") or {}
        name = ((config.get("toolChoice") or {}).get("tool") or {}).get("name")
        for tool in config.get("tools") or ():
            spec = tool.get("toolSpec") or {}
            if name and spec.get("name") == name:
                return (spec.get("inputSchema") or {}).get("json"), name
        return None
    return None


def sample(schema: Any, text: str, root: Any = None, depth: int = 0) -> Any:
    """A small value that fits ``schema`` (JSON Schema or Gemini's OpenAPI subset), strings from ``text``."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 8:
        return {}
    if "$ref" in schema:
        node: Any = root
        for key in schema["$ref"].lstrip("#/").split("/"):
            node = node.get(key, {}) if isinstance(node, dict) else {}
        return sample(node, text, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return sample(schema[key][0], text, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    kind = (kind or ("object" if "properties" in schema else "string")).lower()
    if kind == "object":
        properties = schema.get("properties") or {}
        required = schema.get("required")
        names = list(properties) if required is None else [n for n in properties if n in required]
        return {name: sample(properties[name], text, root, depth + 1) for name in names}
    if kind == "array":
        return [sample(schema.get("items") or {}, text, root, depth + 1) for _ in range(max(1, schema.get("minItems") or 1))]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text[: schema.get("maxLength") or 60] or "x"
