"""AWS Bedrock Runtime Converse API: ``POST /model/{modelId}/converse`` and ``/converse-stream``.

Requests are signed with SigV4 (botocore) using the endpoint's ``credentials`` (access key, or a
named profile) or the standard AWS chain; a Bedrock API key in ``api_key`` is sent as a bearer
token instead. Streams arrive in AWS's binary event-stream framing, decoded with botocore's parser. Token
counts: ``POST /model/{modelId}/count-tokens`` (CountTokens, Converse input).
"""

from __future__ import annotations

import json
import logging
import re
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from vv_llm.chat_clients.accumulator import StreamAccumulator
from vv_llm.chat_clients.adapters.anthropic_messages import claude_option_fate, thinking_on
from vv_llm.chat_clients.adapters.base import SHAPE_ERRORS, Adapter, CallParams, HttpRequest, HttpResponse, OptionFate, StreamDecoder, dumps
from vv_llm.chat_clients.adapters.bedrock_converse import (
    CONVERSE_FIELDS,
    converse_body,
    converse_max_tokens,
    finish_reason,
    is_claude,
    message_from_converse,
    thinking_block,
    usage_from_converse,
)
from vv_llm.errors import (
    AuthenticationError,
    BadRequestError,
    ContextLengthExceededError,
    ProviderError,
    RateLimitError,
    ServerError,
    SettingsError,
)
from vv_llm.settings.schema import BedrockCredentials
from vv_llm.types.messages import ChatCompletionDeltaMessage, ChatCompletionMessage, FunctionCallDelta, ToolCallDelta

if TYPE_CHECKING:
    from vv_llm.settings.store import ResolvedEndpoint
    from vv_llm.types.enums import BackendType

SIGNING_NAME = "bedrock"
_INFERENCE_PROFILE_PREFIX = re.compile(r"^(us|eu|apac|jp|au|ca|us-gov|global)\.(?=[a-z0-9-]+\.)")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
# Bedrock's exception names (HTTP ``x-amzn-errortype`` or in-stream ``:exception-type``).
ERROR_CLASSES: dict[str, type[ProviderError]] = {
    "validationexception": BadRequestError,
    "resourcenotfoundexception": BadRequestError,
    "accessdeniedexception": AuthenticationError,
    "unrecognizedclientexception": AuthenticationError,
    "expiredtokenexception": AuthenticationError,
    "invalidsignatureexception": AuthenticationError,
    "throttlingexception": RateLimitError,
    "modelnotreadyexception": RateLimitError,
    "servicequotaexceededexception": RateLimitError,
    "internalserverexception": ServerError,
    "serviceunavailableexception": ServerError,
    "modeltimeoutexception": ServerError,
    "modelerrorexception": ServerError,
    "modelstreamerrorexception": ServerError,
}


class _HideCanonicalRequest(logging.Filter):
    """botocore logs the canonical request at DEBUG, session token included: never let it out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("CanonicalRequest", "StringToSign"))


logging.getLogger("botocore.auth").addFilter(_HideCanonicalRequest())


def error_class(kind: str | None) -> type[ProviderError] | None:
    """The error class for a Bedrock exception name such as ``ThrottlingException:http://...``."""
    if not kind or not isinstance(kind, str):
        return None
    return ERROR_CLASSES.get(kind.split(":", 1)[0].strip().lower())


class BedrockAdapter(Adapter):
    """Speaks Bedrock Converse for any Converse-capable model, Claude included."""

    provider = "bedrock"
    option_fields = {
        "temperature": "inferenceConfig.temperature",
        "top_p": "inferenceConfig.topP",
        "max_tokens": "inferenceConfig.maxTokens",
        "stop": "inferenceConfig.stopSequences",
        "tools": "toolConfig.tools",
        "tool_choice": "toolConfig.toolChoice",
        "thinking": "additionalModelRequestFields.thinking",
        "reasoning_effort": "additionalModelRequestFields.thinking",
        "prompt_cache": "cachePoint blocks",
    }
    structured_formats = frozenset({"json_schema"})
    structured_target = "outputConfig.textFormat"
    stream_media_types = ("application/vnd.amazon.eventstream",)

    def __init__(self, backend: BackendType, endpoint: ResolvedEndpoint):
        super().__init__(backend, endpoint)
        setting = endpoint.endpoint
        self._field = f"endpoints[{setting.id}]"
        region = setting.region
        if not region or not _REGION.match(region):
            raise SettingsError(
                [(f"{self._field}.region", f"endpoint {setting.id!r}: {region!r} is not an AWS region (e.g. us-east-1, eu-central-1)")]
            )
        self.region = region
        self._base = setting.api_base or f"https://bedrock-runtime.{region}.amazonaws.com"
        self._headers = {"content-type": "application/json", "accept": "application/json", **setting.headers}
        self._bearer: str | None = None
        self._credentials: Any = None
        self._frozen: Any = None
        self._resolve_credentials()

    # -- credentials ---------------------------------------------------------------------
    def _resolve_credentials(self) -> None:
        setting = self.endpoint.endpoint
        if find_spec("botocore") is None:  # signing and the event-stream reader are botocore's
            raise SettingsError([(f"{self._field}.is_bedrock", "AWS Bedrock endpoints need boto3: pip install 'vv-llm[bedrock]'")])
        creds = setting.credentials
        if creds is not None and not isinstance(creds, BedrockCredentials):
            if any(v is not None for v in creds.model_dump().values()):
                raise SettingsError(
                    [(f"{self._field}.credentials", "a Bedrock endpoint takes access_key_id/secret_access_key/session_token or profile")]
                )
            creds = None
        key_id = creds.access_key_id.get_secret_value() if creds and creds.access_key_id else None
        secret = creds.secret_access_key.get_secret_value() if creds and creds.secret_access_key else None
        if bool(key_id) != bool(secret):
            missing = "secret_access_key" if key_id else "access_key_id"
            raise SettingsError([(f"{self._field}.credentials.{missing}", "access_key_id and secret_access_key must be given together")])
        if key_id and secret:
            from botocore.credentials import Credentials

            token = creds.session_token.get_secret_value() if creds and creds.session_token else None
            self._credentials = Credentials(key_id, secret, token)
        elif setting.api_key is not None and not (creds and creds.profile):
            self._bearer = setting.api_key.get_secret_value()  # a Bedrock API key
            return
        else:
            self._credentials = self._chain_credentials(creds.profile if creds else None)
        self._frozen = self._credentials.get_frozen_credentials()

    def _chain_credentials(self, profile: str | None) -> Any:
        import botocore.exceptions
        import botocore.session

        path = f"{self._field}.credentials" + (".profile" if profile else "")
        try:
            credentials = botocore.session.Session(profile=profile).get_credentials()
        except botocore.exceptions.ProfileNotFound:
            raise SettingsError([(path, f"AWS profile {profile!r} is not in the AWS config or credentials files")]) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise SettingsError([(path, f"cannot load AWS credentials: {exc}")]) from None
        if credentials is None:
            raise SettingsError(
                [
                    (
                        path,
                        "no AWS credentials found: set access_key_id and secret_access_key (or profile) here, "
                        "or configure the standard AWS chain (environment, ~/.aws, instance role)",
                    )
                ]
            )
        return credentials

    def refresh_due(self) -> bool:
        from botocore.credentials import RefreshableCredentials

        return isinstance(self._credentials, RefreshableCredentials) and self._credentials.refresh_needed()

    def refresh(self) -> None:
        self._frozen = self._credentials.get_frozen_credentials()

    # -- request -------------------------------------------------------------------------
    def url(self, model_id: str, stream: bool) -> str:
        return f"{self._base}/model/{quote(model_id, safe='')}/{'converse-stream' if stream else 'converse'}"

    def build_request(self, call: CallParams) -> HttpRequest:
        url = self.url(call.model_id, call.stream)
        headers = {**self._headers, **call.extra_headers} if call.extra_headers else dict(self._headers)
        if call.stream:
            headers["accept"] = "application/vnd.amazon.eventstream"
        return self._signed(url, headers, dumps(converse_body(call)))

    def answer_room(self, call: CallParams) -> int | None:
        return converse_max_tokens(call)

    def option_fate(self, name: str, call: CallParams) -> OptionFate:
        claude = is_claude(call.model_id)
        if name in ("thinking", "reasoning_effort") and not claude:
            return "dropped", "thinking options are sent to Claude models only on Bedrock"
        if name == "tool_choice" and call.tool_choice == "none" and call.tools:
            return "dropped", "Converse has no 'none' tool choice (the tools stay declared)"
        fate = claude_option_fate(call, name) if claude else None
        if fate is not None and fate[0] == "mapped":
            fate = ("mapped", "additionalModelRequestFields." + (fate[1] or ""))
        return fate or super().option_fate(name, call)

    def extra_fate(self, key: str, call: CallParams) -> OptionFate:
        if key in CONVERSE_FIELDS:
            return "sent", None
        if key == "parallel_tool_calls":
            return "dropped", "Converse has no switch for parallel tool calls"
        return "mapped", f"additionalModelRequestFields.{key}"

    def forced_tool_ok(self, call: CallParams) -> bool:
        return not (is_claude(call.model_id) and thinking_on(call))

    # -- token count ---------------------------------------------------------------------
    count_field = "inputTokens"

    def count_request(self, call: CallParams) -> HttpRequest:
        """``POST /model/{modelId}/count-tokens`` with ``{"input": {"converse": …}}``. Counting takes
        the foundation-model id, so a cross-region inference profile's prefix (``us.``) is dropped."""
        body = converse_body(call)
        counted = {name: body[name] for name in ("messages", "system", "toolConfig", "additionalModelRequestFields") if name in body}
        model = _INFERENCE_PROFILE_PREFIX.sub("", call.model_id)
        url = f"{self._base}/model/{quote(model, safe='')}/count-tokens"
        headers = {**self._headers, **call.extra_headers} if call.extra_headers else dict(self._headers)
        return self._signed(url, headers, dumps({"input": {"converse": counted}}))

    def _signed(self, url: str, headers: dict[str, str], body: bytes) -> HttpRequest:
        if self._bearer is not None:
            headers["authorization"] = f"Bearer {self._bearer}"
            return HttpRequest("POST", url, headers, body)
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        signed = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(self._frozen, SIGNING_NAME, self.region).add_auth(signed)
        return HttpRequest("POST", url, dict(signed.headers.items()), body)

    # -- response ------------------------------------------------------------------------
    def message_from(self, data: dict[str, Any], response: HttpResponse) -> ChatCompletionMessage:
        if not isinstance(data.get("output"), dict):
            raise self.parse_error(f"response has no output: {response.body[:200]!r}")
        return message_from_converse(data, self.endpoint.id)

    def stream_decoder(self) -> StreamDecoder:
        return ConverseStreamDecoder(self)

    # -- errors --------------------------------------------------------------------------
    def error_message(self, body: Any) -> tuple[str | None, str | None]:
        if isinstance(body, dict) and ("message" in body or "Message" in body):
            message, kind = body.get("message") or body.get("Message"), body.get("__type")
            return (str(message) if message else None), (kind if isinstance(kind, str) else None)
        return super().error_message(body)

    def error_from_response(self, response: HttpResponse) -> ProviderError:
        error = super().error_from_response(response)
        kind = response.headers.get("x-amzn-errortype") or self.error_message(error.body)[1]
        return self._typed(error, error_class(kind), kind)

    def exception_error(self, kind: str, payload: bytes) -> ProviderError:
        """The typed error for an in-stream exception frame."""
        try:
            body: Any = json.loads(payload)
        except ValueError:
            body = payload.decode("utf-8", "replace")
        message = self.error_message(body)[0]
        error = ProviderError(
            f"{self.provider} stream error: {message or 'no message'} ({kind})",
            provider=self.provider,
            endpoint_id=self.endpoint.id,
            body=body,
        )
        return self._typed(error, error_class(kind) or ProviderError, kind)

    @staticmethod
    def _typed(error: ProviderError, cls: type[ProviderError] | None, kind: str | None) -> ProviderError:
        text = error.message.lower()
        if cls is BadRequestError and ("too long" in text or "too many tokens" in text or "context window" in text):
            cls = ContextLengthExceededError
        if cls is None or type(error) is cls or (cls is BadRequestError and isinstance(error, BadRequestError)):
            return error
        return error.retyped(cls)


_MIN_FRAME = 16  # prelude (12) + message CRC (4)
_MAX_FRAME = 16 + 128 * 1024 + 24 * 1024 * 1024  # botocore's header and payload limits


class ConverseStreamDecoder(StreamDecoder):
    """ConverseStream event-stream frames → deltas (finished by the ``metadata`` event)."""

    __slots__ = ("_adapter", "_blocks", "_buffer", "_held", "_provider", "_tools", "acc", "done")

    def __init__(self, adapter: BedrockAdapter):
        from botocore.eventstream import EventStreamBuffer

        self._adapter = adapter
        self._buffer = EventStreamBuffer()
        self._held = bytearray()
        """Bytes of a frame not yet complete (botocore's buffer copies itself on every add: it is
        given whole frames only, so a large frame read in many pieces costs linear time)."""
        self._blocks: dict[int, dict[str, Any]] = {}
        self._provider: list[dict[str, Any]] = []
        self._tools = 0
        self.done = False
        self.acc = StreamAccumulator(adapter.endpoint.id)

    def feed(self, data: bytes) -> list[ChatCompletionDeltaMessage]:
        from botocore.eventstream import ParserError

        deltas: list[ChatCompletionDeltaMessage] = []
        held = self._held
        held += data
        end = 0
        while len(held) - end >= 4:
            total = int.from_bytes(held[end : end + 4], "big")
            if not _MIN_FRAME <= total <= _MAX_FRAME:
                end = len(held)  # not a frame botocore accepts: let it say why
                break
            if len(held) - end < total:
                break
            end += total
        if not end:
            return deltas
        self._buffer.add_data(bytes(held[:end]))
        del held[:end]
        try:
            for message in self._buffer:
                deltas.extend(self._event(message.headers, message.payload))
        except ParserError as exc:
            raise self._adapter.parse_error(f"malformed event-stream frame: {exc}") from None
        except SHAPE_ERRORS as exc:
            raise self._adapter.shape_error(exc) from None
        return self.acc.add_all(deltas)

    def _event(self, headers: dict[str, Any], payload: bytes) -> list[ChatCompletionDeltaMessage]:
        message_type = headers.get(":message-type")
        if message_type == "exception":
            raise self._adapter.exception_error(str(headers.get(":exception-type")), payload)
        if message_type == "error":
            raise self._adapter.exception_error(str(headers.get(":error-code")), str(headers.get(":error-message", "")).encode())
        try:
            data = json.loads(payload)
        except ValueError:
            raise self._adapter.parse_error(f"malformed stream event: {payload[:200]!r}") from None
        construct = ChatCompletionDeltaMessage.model_construct
        event = headers.get(":event-type")
        if event == "contentBlockDelta":
            return self._delta(data)
        if event == "contentBlockStart":
            return self._start(data)
        if event == "contentBlockStop":
            return self._stop(data)
        if event == "messageStart":
            return [construct(role=data.get("role", "assistant"), raw_response=data)]
        if event == "messageStop":
            return [
                construct(
                    finish_reason=finish_reason(data.get("stopReason")), provider_content=list(self._provider) or None, raw_response=data
                )
            ]
        if event == "metadata":
            self.done = True
            return [construct(usage=usage_from_converse(data.get("usage")), raw_response=data)]
        return []

    def _state(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._blocks.setdefault(data.get("contentBlockIndex", -1), {})

    def _start(self, data: dict[str, Any]) -> list[ChatCompletionDeltaMessage]:
        use = (data.get("start") or {}).get("toolUse")
        if not use:
            return []
        state = self._state(data)
        state["tool"] = self._tools
        state["has_arguments"] = False
        self._tools += 1
        call = ToolCallDelta.model_construct(
            index=state["tool"],
            id=use.get("toolUseId"),
            type="function",
            function=FunctionCallDelta.model_construct(name=use.get("name"), arguments=""),
        )
        return [ChatCompletionDeltaMessage.model_construct(tool_calls=[call], raw_response=data)]

    def _delta(self, data: dict[str, Any]) -> list[ChatCompletionDeltaMessage]:
        delta = data.get("delta") or {}
        construct = ChatCompletionDeltaMessage.model_construct
        if "text" in delta:
            return [construct(content=delta["text"], raw_response=data)]
        if "toolUse" in delta:
            state = self._state(data)
            partial = (delta["toolUse"] or {}).get("input")
            if not partial or "tool" not in state:
                return []
            state["has_arguments"] = True
            call = ToolCallDelta.model_construct(index=state["tool"], function=FunctionCallDelta.model_construct(arguments=partial))
            return [construct(tool_calls=[call], raw_response=data)]
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, dict):
            state = self._state(data)
            if "redactedContent" in reasoning:
                block = thinking_block(reasoning)
                if block is not None:
                    self._provider.append(block)
                return []
            if "signature" in reasoning:
                state["signature"] = state.get("signature", "") + (reasoning["signature"] or "")
                state.setdefault("thinking", [])
                return []
            text = reasoning.get("text") or ""
            state.setdefault("thinking", []).append(text)
            return [construct(reasoning_content=text, raw_response=data)]
        return []

    def _stop(self, data: dict[str, Any]) -> list[ChatCompletionDeltaMessage]:
        state = self._blocks.get(data.get("contentBlockIndex", -1))
        if not state:
            return []
        if "thinking" in state:
            self._provider.append({"type": "thinking", "thinking": "".join(state["thinking"]), "signature": state.get("signature", "")})
        elif "tool" in state and not state["has_arguments"]:
            call = ToolCallDelta.model_construct(index=state["tool"], function=FunctionCallDelta.model_construct(arguments="{}"))
            return [ChatCompletionDeltaMessage.model_construct(tool_calls=[call], raw_response=data)]
        return []
