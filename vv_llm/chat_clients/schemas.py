"""JSON Schema helpers shared by the structured-output code and the provider adapters.

Each provider accepts its own subset of JSON Schema; the adapters convert a caller's schema with
:func:`rewrite_schema` (one walk, a provider-specific rule per sub-schema) and refuse what has no
documented conversion with an :class:`~vv_llm.errors.InvalidRequestError` naming the schema path.
The reply is always validated locally against the caller's *original* schema, so a constraint a
provider cannot enforce (and which its rule moved into a description) is still checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vv_llm.errors import InvalidRequestError

_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SINGLES = ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames")

Rule = Callable[[dict[str, Any], str], dict[str, Any]]
"""A provider's conversion of one sub-schema (its children already converted), given its path."""


def rewrite_schema(schema: Any, rule: Rule, path: str = "$") -> Any:
    """``schema`` with every sub-schema (children first) passed through ``rule``; the input is not changed."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = dict(schema)
    for key in _MAPS:
        if isinstance(schema.get(key), dict):
            out[key] = {name: rewrite_schema(sub, rule, f"{path}.{key}.{name}") for name, sub in schema[key].items()}
    for key in _LISTS:
        if isinstance(schema.get(key), list):
            out[key] = [rewrite_schema(sub, rule, f"{path}.{key}[{i}]") for i, sub in enumerate(schema[key])]
    for key in _SINGLES:
        if isinstance(schema.get(key), dict):
            out[key] = rewrite_schema(schema[key], rule, f"{path}.{key}")
    return rule(out, path)


def local_ref(root: dict[str, Any], ref: Any, path: str, provider: str) -> dict[str, Any]:
    """The sub-schema a local ``$ref`` (``#/$defs/Name``) points at; anything else is refused."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise InvalidRequestError(f"response_format schema {path}.$ref: {provider} takes only local references (got {ref!r})")
    node: Any = root
    for key in ref[1:].lstrip("/").split("/") if ref != "#" else ():
        node = node.get(key.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise InvalidRequestError(f"response_format schema {path}.$ref: {ref!r} points at nothing")
    return node


def recursive_ref(schema: dict[str, Any], provider: str, *, required_only: bool = False) -> str | None:
    """The path of a ``$ref`` that leads back into itself (a recursive schema), else None.

    ``required_only``: follow only what the answer must contain (required properties, items of
    arrays that must not be empty, every branch of a union) — recursion elsewhere can end."""

    def visit(node: Any, path: str, active: tuple[str, ...]) -> str | None:
        if not isinstance(node, dict):
            return None
        ref = node.get("$ref")
        if ref is not None:
            if ref in active:
                return path
            found = visit(local_ref(schema, ref, path, provider), f"{path}.$ref", (*active, ref))
            if found:
                return found
        properties: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else {}
        required = set(node.get("required") or ()) if required_only else set(properties)
        for name, sub in properties.items():
            if name in required:
                found = visit(sub, f"{path}.properties.{name}", active)
                if found:
                    return found
        if isinstance(node.get("items"), dict) and (not required_only or (node.get("minItems") or 0) > 0):
            found = visit(node["items"], f"{path}.items", active)
            if found:
                return found
        for key in ("anyOf", "oneOf", "allOf"):
            branches: list[Any] = node[key] if isinstance(node.get(key), list) else []
            if required_only and key != "allOf" and len(branches) > 1:
                continue  # another branch can end the recursion
            for i, sub in enumerate(branches):
                found = visit(sub, f"{path}.{key}[{i}]", active)
                if found:
                    return found
        if not required_only and isinstance(node.get("additionalProperties"), dict):
            return visit(node["additionalProperties"], f"{path}.additionalProperties", active)
        return None

    return visit(schema, "$", ())


def moved_to_description(node: dict[str, Any], keys: set[str] | frozenset[str]) -> dict[str, Any]:
    """``node`` without ``keys``, their values appended to its description (the documented rule of
    providers that cannot enforce them: the model still reads them; we validate them locally)."""
    moved = {key: node[key] for key in sorted(keys) if key in node}
    if not moved:
        return node
    out = {k: v for k, v in node.items() if k not in moved}
    note = "{" + ", ".join(f"{key}: {value!r}" for key, value in moved.items()) + "}"
    out["description"] = f"{out['description']}\n\n{note}" if out.get("description") else note
    return out


def strict_openai_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """``schema`` as OpenAI's strict mode takes it (every object closed with ``additionalProperties:
    false``), or None when it cannot be strict: an object with optional properties or an open map."""
    possible = True

    def close(node: dict[str, Any], path: str) -> dict[str, Any]:
        nonlocal possible
        if node.get("type") == "object" or "properties" in node:
            properties = node.get("properties") or {}
            if set(node.get("required") or ()) != set(properties) or node.get("additionalProperties") not in (None, False):
                possible = False
            return {**node, "additionalProperties": False}
        return node

    converted = rewrite_schema(schema, close)
    return converted if possible and schema.get("type") == "object" else None


def validation_errors(instance: Any, schema: dict[str, Any]) -> list[tuple[str, str]]:
    """``(path, problem)`` for each way ``instance`` breaks ``schema`` (JSON Schema 2020-12 or the
    draft the schema names), using the ``jsonschema`` library."""
    try:
        from jsonschema import validators
    except ImportError as exc:  # pragma: no cover - a core dependency; only a broken install lacks it
        raise ImportError("validating a dict response_format schema needs the 'jsonschema' package: pip install jsonschema") from exc
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    errors = sorted(cls(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [("$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path), e.message) for e in errors]
