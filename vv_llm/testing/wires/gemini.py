"""The Gemini API wire protocol as Google serves it, on generativelanguage.googleapis.com and on
Vertex AI, plus a fake Google OAuth token endpoint for Vertex credentials.

* ``POST …/models/{model}:generateContent`` answers pretty-printed JSON;
  ``:streamGenerateContent?alt=sse`` answers ``data: {GenerateContentResponse}\\r\\n\\r\\n``
  events (Google's ``", "`` / ``": "`` spacing) and ends by closing the body — there is no
  ``[DONE]``; the last event carries ``finishReason`` and the full ``usageMetadata``.
* Requests are validated the way Google validates them (unknown fields, roles, one data field
  per part, function call/response pairing, schema fields, thought signatures), so a conversion
  mistake fails here as it would in production. Errors have Google's shape
  (``{"error": {"code", "message", "status", "details"}}``); a wrong API key is a 400
  ``API_KEY_INVALID`` as Google answers it.
* Vertex AI (``/v1/projects/{p}/locations/{r}/publishers/google/models/{m}:…``) needs a bearer
  token issued by the fake token endpoint (``POST /token``), which accepts the JWT-bearer grant
  google-auth's service-account flow sends. ``?expires_in=N`` on the token URI sets the lifetime,
  ``?fail=invalid_grant`` refuses the grant. :func:`token_requests` counts refreshes.

Scripting: ``Reply(safety_block=True)`` blocks the answer (``finishReason: SAFETY``);
``Reply(safety_block=True, finish_reason=PROMPT_BLOCKED)`` blocks the prompt
(``promptFeedback.blockReason``, no candidates); a ``finish_reason`` in Google's vocabulary
(``"RECITATION"``, ``"MAX_TOKENS"``, …) is sent as is.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from vv_llm.testing.protocol import RecordedRequest, Rendered, WireProtocol
from vv_llm.testing.script import Reply, RequestInfo, count_tokens, prompt_tokens, split_text

PROMPT_BLOCKED = "prompt_blocked"
"""``Reply(safety_block=True, finish_reason=PROMPT_BLOCKED)``: the prompt itself is blocked."""

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}
_ROLES = ("user", "model")
_PART_DATA = ("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult")
_PART_FIELDS = {*_PART_DATA, "thought", "thoughtSignature", "videoMetadata", "partMetadata", "mediaResolution"}
_REQUEST_FIELDS = {
    "model",
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "safetySettings",
    "generationConfig",
    "cachedContent",
    "labels",
}
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


def _camel(name: str) -> str:
    """Google's JSON parser accepts proto field names (snake_case) as well as lowerCamelCase."""
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _get(obj: dict[str, Any], name: str) -> Any:
    return obj.get(name, obj.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)))


def google_json(data: Any) -> bytes:
    """Compact JSON spaced the way Google's streaming endpoints write it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ": ")).encode()


def google_pretty(data: Any) -> bytes:
    """Pretty JSON as Google's unary endpoints write it (two-space indent)."""
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


class _Invalid(ValueError):
    """A request Google rejects with 400 INVALID_ARGUMENT."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise _Invalid(message)


def _unknown(obj: dict[str, Any], known: set[str], where: str) -> None:
    for key in obj:
        _check(_camel(key) in known, f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.")


# -- request validation ----------------------------------------------------------------------
def validate_request(body: Any, model: str) -> None:
    """Reject what generateContent rejects (raises ValueError with Google's message)."""
    _check(isinstance(body, dict), "Invalid JSON payload received. Expected an object.")
    _unknown(body, _REQUEST_FIELDS, "")
    contents = body.get("contents")
    _check(isinstance(contents, list) and bool(contents), "* GenerateContentRequest.contents: contents is not specified\n")
    for i, content in enumerate(contents):
        where = f"contents[{i}]"
        _check(isinstance(content, dict), f"Invalid value at '{where}', expected an object")
        _unknown(content, {"role", "parts"}, where)
        role = content.get("role", "user")
        _check(role in _ROLES, "Please use a valid role: user, model.")
        parts = content.get("parts")
        _check(isinstance(parts, list) and bool(parts), f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.\n")
        for j, part in enumerate(parts):
            _validate_part(part, f"{where}.parts[{j}]", role)
    _validate_function_turns(contents, model)
    system = _get(body, "systemInstruction")
    if system is not None:
        _check(isinstance(system, dict), "Invalid value at 'system_instruction', expected an object")
        _unknown(system, {"role", "parts"}, "system_instruction")
        for j, part in enumerate(system.get("parts") or []):
            _check(isinstance(part, dict) and isinstance(part.get("text"), str), f"system_instruction.parts[{j}]: only text is allowed")
    declared = _validate_tools(body.get("tools"))
    _validate_tool_config(_get(body, "toolConfig"), declared)
    _validate_generation_config(_get(body, "generationConfig"))


def _validate_part(part: Any, where: str, role: str) -> None:
    _check(isinstance(part, dict), f"Invalid value at '{where}', expected an object")
    _unknown(part, _PART_FIELDS, where)
    data = [k for k in part if _camel(k) in _PART_DATA]
    _check(len(data) == 1, f"* GenerateContentRequest.{where}.data: required oneof field 'data' must have one initialized field\n")
    kind = _camel(data[0])
    value = part[data[0]]
    if kind == "text":
        _check(isinstance(value, str), f"Invalid value at '{where}.text' (TYPE_STRING)")
        _check(
            bool(value) or role == "model",
            "Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.",
        )
    elif kind == "inlineData":
        _check(isinstance(value, dict), f"Invalid value at '{where}.inline_data'")
        mime = _get(value, "mimeType")
        _check(isinstance(mime, str) and mime.startswith(_MEDIA_TYPES), f"Unsupported MIME type: {mime}")
        try:
            base64.b64decode(value.get("data") or "", validate=True)
        except (binascii.Error, ValueError):
            raise _Invalid(f"Invalid value at '{where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed") from None
        _check(bool(value.get("data")), f"* GenerateContentRequest.{where}.inline_data.data: must not be empty\n")
    elif kind == "fileData":
        _check(
            isinstance(value, dict) and bool(_get(value, "fileUri")), f"* GenerateContentRequest.{where}.file_data.file_uri: must be set\n"
        )
        uri = _get(value, "fileUri")
        mime = _get(value, "mimeType")
        _check(
            uri.startswith("https://generativelanguage.googleapis.com/") or uri.startswith("files/") or bool(mime),
            f"* GenerateContentRequest.{where}.file_data.mime_type: is required for {uri}\n",
        )
        _check(uri.startswith(("http://", "https://", "gs://", "files/")), f"Invalid or unsupported file uri: {uri}")
    elif kind == "functionCall":
        _check(role == "model", f"{where}: a function call can only come from the model")
        _check(
            isinstance(value, dict) and bool(value.get("name")),
            f"* GenerateContentRequest.{where}.function_call.name: Name cannot be empty.\n",
        )
        _check(
            isinstance(value.get("args", {}), dict),
            f"Invalid value at '{where}.function_call.args' (type.googleapis.com/google.protobuf.Struct)",
        )
    elif kind == "functionResponse":
        _check(
            isinstance(value, dict) and bool(value.get("name")),
            f"* GenerateContentRequest.{where}.function_response.name: Name cannot be empty.\n",
        )
        _check(
            isinstance(value.get("response"), dict),
            f"Invalid value at '{where}.function_response.response' (type.googleapis.com/google.protobuf.Struct)",
        )
    signature = _get(part, "thoughtSignature")
    if signature is not None:
        _check(isinstance(signature, str), f"Invalid value at '{where}.thought_signature' (TYPE_BYTES)")
        _check(signature in _ISSUED_SIGNATURES, "Corrupted thought signature.")


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
            _check(
                len(asked) == len(responses),
                "Please ensure that the number of function response parts is equal to the number of function call parts "
                "of the function call turn.",
            )
        if calls:
            following = contents[i + 1] if i + 1 < len(contents) else None
            if following is not None:
                _check(
                    any("functionResponse" in p or "function_response" in p for p in following["parts"]),
                    "Please ensure that function call turn comes immediately after a user turn or after a function response turn.",
                )
            if model.startswith("gemini-3") and i > last_user_text:
                for position, part in enumerate(content["parts"]):
                    if ("functionCall" in part or "function_call" in part) and not _get(part, "thoughtSignature"):
                        name = _get(part, "functionCall")["name"]
                        raise _Invalid(
                            "Function call is missing a thought_signature in functionCall parts. This is required for tools to "
                            "work correctly, and missing thought_signature may lead to degraded model performance. Additional "
                            f"data, function call `default_api:{name}` , position {position + 1}. Please refer to "
                            "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
                        )


def _validate_tools(tools: Any) -> set[str]:
    names: set[str] = set()
    if tools is None:
        return names
    _check(isinstance(tools, list), "Invalid value at 'tools', expected a list")
    for i, tool in enumerate(tools):
        _check(isinstance(tool, dict), f"Invalid value at 'tools[{i}]'")
        _unknown(tool, _TOOL_FIELDS, f"tools[{i}]")
        for j, declaration in enumerate(_get(tool, "functionDeclarations") or []):
            where = f"tools[{i}].function_declarations[{j}]"
            _unknown(
                declaration,
                {"name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"},
                where,
            )
            name = declaration.get("name", "")
            _check(
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
    _check(isinstance(schema, dict), f"Invalid value at '{where}', expected an object")
    _unknown(schema, _SCHEMA_FIELDS, where)
    kind = schema.get("type")
    if kind is not None:
        _check(
            isinstance(kind, str) and kind.upper() in _SCHEMA_TYPES,
            f"Invalid value at '{where}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), \"{kind}\"",
        )
        if kind.upper() == "OBJECT" and "anyOf" not in schema:
            _check(bool(schema.get("properties")), f"* GenerateContentRequest.{where}.properties: should be non-empty for OBJECT type\n")
    for name, sub in (schema.get("properties") or {}).items():
        validate_schema(sub, f"{where}.properties[{name}].value")
    if "items" in schema:
        validate_schema(schema["items"], f"{where}.items")
    for k, sub in enumerate(schema.get("anyOf") or []):
        validate_schema(sub, f"{where}.any_of[{k}]")
    for required in schema.get("required") or []:
        _check(
            required in (schema.get("properties") or {}),
            f"* GenerateContentRequest.{where}.required[{required}]: property is not defined\n",
        )


def _validate_tool_config(config: Any, declared: set[str]) -> None:
    if config is None:
        return
    _unknown(config, {"functionCallingConfig", "retrievalConfig"}, "tool_config")
    calling = _get(config, "functionCallingConfig") or {}
    _unknown(calling, {"mode", "allowedFunctionNames", "streamFunctionCallArguments"}, "tool_config.function_calling_config")
    mode = calling.get("mode", "AUTO")
    _check(
        mode in ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"),
        f"Invalid value at 'tool_config.function_calling_config.mode', \"{mode}\"",
    )
    allowed = _get(calling, "allowedFunctionNames")
    if allowed:
        _check(mode in ("ANY", "VALIDATED"), "allowed_function_names should only be set when the Mode is ANY.")
        for name in allowed:
            _check(name in declared, f"allowed_function_names contains a function name not declared in tools: {name}")


def _validate_generation_config(config: Any) -> None:
    if config is None:
        return
    _check(isinstance(config, dict), "Invalid value at 'generation_config'")
    _unknown(config, _GENERATION_FIELDS, "generation_config")
    thinking = _get(config, "thinkingConfig")
    if thinking is not None:
        _unknown(thinking, _THINKING_FIELDS, "generation_config.thinking_config")
        budget = _get(thinking, "thinkingBudget")
        _check(budget is None or (isinstance(budget, int) and budget >= -1), "thinking_budget must be -1 (dynamic), 0 or positive")
    temperature = config.get("temperature")
    _check(temperature is None or 0 <= temperature <= 2, "* GenerateContentRequest.generation_config.temperature: must be in [0, 2]\n")
    from vv_llm.testing.structured_rules import check_gemini_json_schema

    check_gemini_json_schema(config)
    schema = _get(config, "responseSchema")
    if schema is not None:
        _check(
            _get(config, "responseMimeType") in ("application/json", "text/x.enum"),
            "* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are `application/json` and "
            "`text/x.enum` when response_schema is set.\n",
        )
        validate_schema(schema, "generation_config.response_schema")
    stops = _get(config, "stopSequences")
    _check(stops is None or (isinstance(stops, list) and len(stops) <= 5), "stop_sequences: at most 5 are allowed")


# -- the fake token endpoint and issued credentials -----------------------------------------
_LOCK = threading.Lock()
_ISSUED_TOKENS: dict[str, float] = {}
"""Access token → ``time.monotonic()`` at which it expires."""
_ISSUED_SIGNATURES: set[str] = set()
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _issue_signature(response_id: str, position: int) -> str:
    signature = base64.b64encode(f"vv-llm-fake-thought:{response_id}:{position}:{secrets.token_hex(6)}".encode()).decode()
    with _LOCK:
        _ISSUED_SIGNATURES.add(signature)
    return signature


def bearer_token_problem(request: RecordedRequest) -> str | None:
    """Why a Vertex request's bearer token is refused (missing, unknown or expired), or None.

    Any fake Vertex protocol can use this to accept exactly the tokens :class:`GoogleOAuthWire` issued.
    """
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        return (
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other "
            "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
        )
    with _LOCK:
        expires = _ISSUED_TOKENS.get(auth[7:].strip())
    if expires is None or time.monotonic() >= expires:
        return (
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
            "authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
        )
    return None


def token_requests(server: Any) -> list[RecordedRequest]:
    """The token requests (refreshes) a fake server received."""
    return [r for r in server.requests if r.protocol == GoogleOAuthWire.name]


def _b64url_json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


class GoogleOAuthWire(WireProtocol):
    """``POST /token`` (``/oauth2/v4/token``): Google's OAuth 2.0 token endpoint, JWT-bearer grant."""

    name = "google-oauth"
    on_request: Callable[[RecordedRequest], None] | None = None
    """Called (on the fake server's thread) before each token request is answered — tests use it
    to hold a refresh in flight; the server answers nothing else meanwhile."""

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path in ("/token", "/oauth2/v4/token")

    def answer(self, request: RecordedRequest) -> Rendered | None:
        hook = GoogleOAuthWire.on_request
        if hook is not None:
            hook(request)
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        if request.query.get("fail"):
            return self._error(request.query["fail"], "Invalid JWT Signature.")
        if form.get("grant_type") != JWT_BEARER:
            return self._error("unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", ""))
        try:
            header_b64, payload_b64, signature = form.get("assertion", "").split(".")
            header, claims = _b64url_json(header_b64), _b64url_json(payload_b64)
        except ValueError:
            return self._error("invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
        now = time.time()
        if header.get("alg") != "RS256" or not signature:
            return self._error("invalid_grant", "Invalid JWT Signature.")
        if not claims.get("iss") or not claims.get("aud") or not claims.get("scope"):
            return self._error("invalid_grant", "Invalid JWT: missing iss, aud or scope claim.")
        if not (claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0) + 300):
            return self._error("invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.")
        lifetime = int(request.query.get("expires_in", "3599"))
        token = "ya29.c.fake-" + secrets.token_urlsafe(32)
        with _LOCK:
            _ISSUED_TOKENS[token] = time.monotonic() + lifetime
        body = {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}
        return Rendered(
            200, {"content-type": "application/json; charset=utf-8", "cache-control": "no-cache, no-store"}, google_pretty(body)
        )

    @staticmethod
    def _error(error: str, description: str) -> Rendered:
        body = {"error": error, "error_description": description}
        return Rendered(400, {"content-type": "application/json; charset=utf-8"}, google_pretty(body))

    def parse(self, request: RecordedRequest) -> RequestInfo:  # pragma: no cover - answered directly
        raise ValueError("token requests are answered directly")

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:  # pragma: no cover
        raise NotImplementedError

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        return self._error("invalid_request", message)


# -- the Gemini API ---------------------------------------------------------------------------
def _part_text(part: dict[str, Any]) -> str:
    if "text" in part:
        return part["text"]
    response = _get(part, "functionResponse")
    if isinstance(response, dict):
        return json.dumps(response.get("response"), ensure_ascii=False)
    call = _get(part, "functionCall")
    if isinstance(call, dict):
        return json.dumps(call.get("args") or {}, ensure_ascii=False)
    return ""


class GeminiWire(WireProtocol):
    """``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent?alt=sse``, ``x-goog-api-key``."""

    name = "gemini"

    def matches(self, method: str, path: str) -> bool:
        return (
            method == "POST"
            and "/publishers/" not in path
            and bool(re.search(r"/models/[^/]+:(generateContent|streamGenerateContent)$", path))
        )

    # -- auth ----------------------------------------------------------------------------
    @staticmethod
    def api_key(request: RecordedRequest) -> str:
        return request.headers.get("x-goog-api-key") or request.query.get("key", "")

    def check_auth(self, request: RecordedRequest, keys: set[str]) -> bool:
        return self.api_key(request) in keys

    def answer(self, request: RecordedRequest) -> Rendered | None:
        if not self.api_key(request) and not request.headers.get("authorization"):
            return self.error(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or "
                "other form of API consumer identity to call this API.",
                request,
                {},
            )
        return None

    # -- parsing -------------------------------------------------------------------------
    def parse(self, request: RecordedRequest) -> RequestInfo:
        model = request.path.rsplit("/models/", 1)[1].split(":")[0]
        stream = request.path.endswith(":streamGenerateContent")
        if stream:
            _check(request.query.get("alt") == "sse", "this fake serves :streamGenerateContent only as server-sent events (?alt=sse)")
        try:
            body = request.json
        except ValueError:
            raise _Invalid("Invalid JSON payload received. Unexpected token.") from None
        validate_request(body, model)
        return self.info(body, model, stream)

    def info(self, body: dict[str, Any], model: str, stream: bool) -> RequestInfo:
        texts: list[str] = []
        prompt: list[dict[str, Any]] = []
        system = _get(body, "systemInstruction")
        if system:
            texts += [p.get("text", "") for p in system.get("parts") or []]
            prompt.append({"role": "system", "content": " ".join(t for t in texts if t)})
        last_user = ""
        for content in body["contents"]:
            text = " ".join(t for t in (_part_text(p) for p in content["parts"]) if t)
            texts.append(text)
            prompt.append({"role": "assistant" if content.get("role") == "model" else "user", "content": text})
            if content.get("role", "user") == "user" and any("text" in p for p in content["parts"]):
                last_user = " ".join(p["text"] for p in content["parts"] if "text" in p)
        declared = [d for t in body.get("tools") or [] for d in _get(t, "functionDeclarations") or [] if isinstance(d, dict)]
        tools = [d.get("name", "") for d in declared]
        thinking = _get(_get(body, "generationConfig") or {}, "thinkingConfig") or {}
        return RequestInfo(
            protocol=self.name,
            model=model,
            stream=stream,
            messages_text="\n".join(t for t in texts if t),
            last_user_text=last_user,
            tools=tools,
            include_usage=True,
            thinking=bool(_get(thinking, "includeThoughts")),
            body=body,
            prompt=prompt,
            prompt_tools=declared,
            backend="gemini",
        )

    # -- rendering -----------------------------------------------------------------------
    def headers(self, content_type: str, extra: dict[str, str]) -> dict[str, str]:
        return {
            "content-type": content_type,
            "vary": "Origin, X-Origin, Referer",
            "server": "scaffolding on HTTPServer2",
            "x-xss-protection": "0",
            "x-frame-options": "SAMEORIGIN",
            "x-content-type-options": "nosniff",
            "server-timing": "gfet4t7; dur=412",
            **extra,
        }

    def usage(self, reply: Reply, info: RequestInfo) -> dict[str, Any]:
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else max(1, prompt_tokens(info))
        thoughts = count_tokens(reply.reasoning or "", info.model)
        if reply.completion_tokens is not None:
            candidates = max(0, reply.completion_tokens - thoughts)
        else:
            candidates = count_tokens(reply.content, info.model) + sum(
                count_tokens(t.arguments_json(), info.model) + 3 for t in reply.tool_calls
            )
        usage: dict[str, Any] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "totalTokenCount": prompt + candidates + thoughts,
        }
        if reply.cached_tokens:
            usage["cachedContentTokenCount"] = reply.cached_tokens
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
        if reply.cached_tokens:
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": reply.cached_tokens}]
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return usage

    @staticmethod
    def finish_reason(reply: Reply) -> str:
        if reply.safety_block:
            return "SAFETY" if reply.finish_reason in (None, PROMPT_BLOCKED, "content_filter") else reply.finish_reason
        reason = reply.final_finish_reason()
        return _FINISH.get(reason, reason.upper())

    @staticmethod
    def signed(info: RequestInfo) -> bool:
        """Whether this answer carries thought signatures (thinking asked for, or a Gemini 3 model)."""
        return info.thinking or info.model.startswith("gemini-3")

    def parts(self, reply: Reply, info: RequestInfo, response_id: str) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if reply.reasoning and info.thinking:
            parts.append({"text": reply.reasoning, "thought": True})
        if reply.content:
            parts.append({"text": reply.content})
        for call in reply.tool_calls:
            parts.append({"functionCall": {"name": call.name, "args": _args(call.arguments)}})
        if self.signed(info) and parts:
            target = next((p for p in parts if "functionCall" in p), None) or next(
                (p for p in reversed(parts) if not p.get("thought")), parts[-1]
            )
            target["thoughtSignature"] = _issue_signature(response_id, parts.index(target))
        return parts

    def candidate(self, parts: list[dict[str, Any]] | None, finish: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {}
        if parts is not None:
            candidate["content"] = {"parts": parts, "role": "model"}
        if finish:
            candidate["finishReason"] = finish
        if finish == "SAFETY":
            candidate["safetyRatings"] = _safety_ratings(blocked=True)
        candidate["index"] = 0
        return candidate

    def envelope(self, body: dict[str, Any], model: str, response_id: str) -> dict[str, Any]:
        body["modelVersion"] = model
        body["responseId"] = response_id
        return body

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        model = reply.model or info.model
        response_id = _response_id()
        usage = self.usage(reply, info)
        if reply.safety_block and reply.finish_reason == PROMPT_BLOCKED:
            prompt_only = {"promptTokenCount": usage["promptTokenCount"], "totalTokenCount": usage["promptTokenCount"]}
            body = self.envelope(
                {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": _safety_ratings(blocked=True)}, "usageMetadata": prompt_only},
                model,
                response_id,
            )
            if info.stream:
                return Rendered(200, self.headers("text/event-stream", reply.headers), pieces=iter([("meta", self.event(body))]))
            return Rendered(200, self.headers("application/json; charset=UTF-8", reply.headers), body=google_pretty(body))
        if info.stream:
            return Rendered(
                200, self.headers("text/event-stream", reply.headers), pieces=self._stream(reply, info, model, response_id, usage)
            )
        parts = None if reply.safety_block else self.parts(reply, info, response_id)
        body = self.envelope({"candidates": [self.candidate(parts, self.finish_reason(reply))], "usageMetadata": usage}, model, response_id)
        return Rendered(200, self.headers("application/json; charset=UTF-8", reply.headers), body=google_pretty(body))

    @staticmethod
    def event(data: dict[str, Any]) -> bytes:
        return b"data: " + google_json(data) + b"\r\n\r\n"

    def _stream(self, reply: Reply, info: RequestInfo, model: str, response_id: str, usage: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
        running = {"promptTokenCount": usage["promptTokenCount"], "totalTokenCount": usage["promptTokenCount"]}

        def chunk(parts: list[dict[str, Any]] | None, finish: str | None = None, final_usage: dict[str, Any] | None = None) -> bytes:
            body = {"candidates": [self.candidate(parts, finish)], "usageMetadata": final_usage or running}
            return self.event(self.envelope(body, model, response_id))

        signed = self.signed(info)
        if not reply.safety_block:
            if reply.reasoning and info.thinking:
                for piece in split_text(reply.reasoning, reply.chunk_chars):
                    yield "content", chunk([{"text": piece, "thought": True}])
            for piece in split_text(reply.content, reply.chunk_chars):
                yield "content", chunk([{"text": piece}])
            in_pieces = _streams_arguments(info.body)
            for position, call in enumerate(reply.tool_calls):
                part: dict[str, Any] = {"functionCall": {"name": call.name, "args": _args(call.arguments)}}
                if in_pieces:  # the name first, then the arguments as partialArgs, then an empty call
                    part = {"functionCall": {"name": call.name, "willContinue": True}}
                if signed and position == 0:
                    part["thoughtSignature"] = _issue_signature(response_id, position)
                yield "content", chunk([part])
                if in_pieces:
                    for partial in partial_args(_args(call.arguments), reply.chunk_chars):
                        yield "content", chunk([{"functionCall": {"partialArgs": [partial], "willContinue": True}}])
                    yield "content", chunk([{"functionCall": {}}])
        last: dict[str, Any] = {"text": ""}
        if signed and not reply.tool_calls and not reply.safety_block:
            last["thoughtSignature"] = _issue_signature(response_id, 0)
        yield "meta", chunk(None if reply.safety_block else [last], self.finish_reason(reply), usage)

    def error(
        self, status: int, message: str, request: RecordedRequest, headers: dict[str, str], details: list[Any] | None = None
    ) -> Rendered:
        error: dict[str, Any] = {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}
        if details:
            error["details"] = details
        return Rendered(status, self.headers("application/json; charset=UTF-8", headers), body=google_pretty({"error": error}))

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        headers = dict(headers)
        details: list[Any] = []
        if status == 401:  # a wrong API key: Google answers 400 API_KEY_INVALID
            message = "API key not valid. Please pass a valid API key."
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
                {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message},
            ]
            status = 400
        elif status == 529:  # not a Google status: its overload answer is 503 UNAVAILABLE
            status = 503
        if status == 429:
            retry = headers.pop("retry-after", None)
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        }
                    ],
                },
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [
                        {"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}
                    ],
                },
            ]
            if retry is not None:
                details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{float(retry):g}s"})
        return self.error(status, message, request, headers, details)

    def malformed_piece(self) -> bytes:
        return b"data: {this is not json\r\n\r\n"

    def stream_error_piece(self, message: str) -> bytes:
        return self.event({"error": {"code": 503, "message": message, "status": "UNAVAILABLE"}})


def _streams_arguments(body: Any) -> bool:
    """Whether the request opted in to function-call arguments streamed as ``partialArgs``."""
    config = (_get(body, "toolConfig") or {}) if isinstance(body, dict) else {}
    calling = _get(config, "functionCallingConfig") or {} if isinstance(config, dict) else {}
    return isinstance(calling, dict) and bool(_get(calling, "streamFunctionCallArguments"))


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


def _args(arguments: dict[str, Any] | str) -> Any:
    if isinstance(arguments, dict):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return {"raw": arguments}


def _response_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes[:15]).decode().rstrip("=")


def _safety_ratings(*, blocked: bool) -> list[dict[str, Any]]:
    ratings: list[dict[str, Any]] = [
        {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH" if blocked else "NEGLIGIBLE"},
    ]
    if blocked:
        ratings[-1]["blocked"] = True
    return ratings


class VertexGeminiWire(GeminiWire):
    """Gemini on Vertex AI: ``POST /v1/projects/{p}/locations/{r}/publishers/google/models/{m}:generateContent``
    (``:streamGenerateContent?alt=sse``) with a bearer token from the fake token endpoint."""

    name = "vertex-gemini"

    def matches(self, method: str, path: str) -> bool:
        return (
            method == "POST"
            and bool(re.search(r"/projects/[^/]+/locations/[^/]+/publishers/google/models/[^/]+:", path))
            and path.endswith((":generateContent", ":streamGenerateContent"))
        )

    def check_auth(self, request: RecordedRequest, keys: set[str]) -> bool:
        return bearer_token_problem(request) is None

    def answer(self, request: RecordedRequest) -> Rendered | None:
        problem = bearer_token_problem(request)
        if problem is None:
            return None
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "CREDENTIALS_MISSING" if "missing" in problem else "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                "domain": "googleapis.com",
                "metadata": {
                    "service": "aiplatform.googleapis.com",
                    "method": "google.cloud.aiplatform.v1.PredictionService.GenerateContent",
                },
            }
        ]
        return self.error(401, problem, request, {"www-authenticate": 'Bearer realm="https://accounts.google.com/"'}, details)

    def render_error(
        self, status: int, message: str, error_type: str | None, request: RecordedRequest, headers: dict[str, str]
    ) -> Rendered:
        if status == 401:
            return self.error(401, message, request, headers)
        return super().render_error(status, message, error_type, request, headers)

    def usage(self, reply: Reply, info: RequestInfo) -> dict[str, Any]:
        usage = super().usage(reply, info)
        usage["trafficType"] = "ON_DEMAND"
        return usage

    def candidate(self, parts: list[dict[str, Any]] | None, finish: str | None) -> dict[str, Any]:
        candidate = super().candidate(parts, finish)
        if "content" in candidate:  # Vertex writes the role first
            candidate["content"] = {"role": "model", "parts": candidate["content"]["parts"]}
        candidate.pop("index", None)
        return candidate

    def envelope(self, body: dict[str, Any], model: str, response_id: str) -> dict[str, Any]:
        body["modelVersion"] = model
        body["createTime"] = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        body["responseId"] = response_id
        return body


_GENERATE_REQUEST_FIELDS = {
    "model",
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
}


def _count_request(request: RecordedRequest) -> tuple[str, dict[str, Any]]:
    """``(model, JSON object body)`` of a ``…/models/{model}:countTokens`` request."""
    try:
        body = request.json
    except ValueError:
        raise _Invalid("Invalid JSON payload received. Unexpected token.") from None
    _check(isinstance(body, dict), "Invalid JSON payload received. Expected an object.")
    return request.path.rsplit("/models/", 1)[1].split(":")[0], body


def _count_answer(reply: Reply, info: RequestInfo, **extra: Any) -> dict[str, Any]:
    """A countTokens answer: the prompt as generateContent would bill it."""
    count = reply.prompt_tokens if reply.prompt_tokens is not None else max(1, prompt_tokens(info))
    return {"totalTokens": count, **extra, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": count}]}


class GeminiCountWire(GeminiWire):
    """``POST /v1beta/models/{model}:countTokens`` with ``contents`` or a whole
    ``generateContentRequest``; answered with vv-llm's own count of the prompt, as usage is."""

    name = "gemini-count"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and "/publishers/" not in path and bool(re.search(r"/models/[^/]+:countTokens$", path))

    def parse(self, request: RecordedRequest) -> RequestInfo:
        model, body = _count_request(request)
        _unknown(body, {"contents", "generateContentRequest"}, "")
        inner = _get(body, "generateContentRequest")
        if inner is not None:
            _check(isinstance(inner, dict), "Invalid value at 'generate_content_request', expected an object")
            _unknown(inner, _GENERATE_REQUEST_FIELDS, "generate_content_request")
            _check(
                _get(inner, "model") == f"models/{model}", f"* CountTokensRequest.generate_content_request.model: must be models/{model}\n"
            )
            body = {k: v for k, v in inner.items() if k != "model"}
        validate_request(body, model)
        return self.info(body, model, False)

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        return Rendered(200, self.headers("application/json; charset=UTF-8", reply.headers), body=google_pretty(_count_answer(reply, info)))


class VertexGeminiCountWire(VertexGeminiWire):
    """Vertex AI's ``…/publishers/google/models/{model}:countTokens``: contents, system instruction
    and tools at the top level."""

    name = "vertex-gemini-count"

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and bool(re.search(r"/projects/[^/]+/locations/[^/]+/publishers/google/models/[^/]+:countTokens$", path))

    def parse(self, request: RecordedRequest) -> RequestInfo:
        model, body = _count_request(request)
        _unknown(body, {"model", "instances", "contents", "systemInstruction", "tools", "generationConfig"}, "")
        validate_request({k: v for k, v in body.items() if k != "model"}, model)
        return self.info(body, model, False)

    def render(self, reply: Reply, info: RequestInfo, request: RecordedRequest) -> Rendered:
        answer = _count_answer(reply, info, totalBillableCharacters=len(info.messages_text))
        return Rendered(200, self.headers("application/json; charset=UTF-8", reply.headers), body=google_pretty(answer))


PROTOCOLS = [GeminiWire(), VertexGeminiWire(), GoogleOAuthWire(), GeminiCountWire(), VertexGeminiCountWire()]
