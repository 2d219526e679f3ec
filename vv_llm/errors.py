"""The exceptions vv-llm raises.

Every provider failure is one of these, whatever the backend, and carries the provider, the
endpoint id, the HTTP status, the request id and the provider's own message. None of them ever
holds an API key or an auth header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vv_llm.types.messages import ChatCompletionMessage
    from vv_llm.types.report import RequestReport


class VVLLMError(Exception):
    """Base class of every vv-llm error."""

    request_report: RequestReport | None = None
    """What was sent (endpoint, model id, each option's fate), when the error arose from a call."""


class SettingsError(VVLLMError, ValueError):
    """Invalid settings. ``errors`` lists ``(field_path, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        lines = [f"{path}: {message}" if path else message for path, message in errors]
        super().__init__("invalid settings:\n  " + "\n  ".join(lines) if len(lines) > 1 else f"invalid settings: {lines[0]}")


class UnknownModelError(VVLLMError, LookupError):
    """The requested model is not configured (nor in the built-in catalogue) for the backend."""


class InvalidRequestError(VVLLMError, ValueError):
    """The call's arguments are wrong before anything is sent (empty messages, bad image, ...)."""


class UnsupportedOptionError(InvalidRequestError):
    """An option the backend or model cannot take, with ``unsupported="error"`` (nothing was sent).

    ``options`` maps each refused option to the reason; ``request_report`` says the rest."""

    def __init__(self, message: str, *, options: dict[str, str], request_report: RequestReport | None = None):
        self.options = options
        self.request_report = request_report
        super().__init__(message)


class UnsupportedOptionWarning(UserWarning):
    """An option was dropped because the backend or model cannot take it (``unsupported="warn"``)."""


class StructuredOutputError(VVLLMError, ValueError):
    """The answer to a ``response_format`` call is not valid JSON, or does not match the schema or
    pydantic model. ``raw`` keeps the text as received; ``message`` the whole reply; ``errors``
    lists ``(path, problem)`` pairs from validation."""

    def __init__(
        self,
        message: str,
        *,
        raw: str | None,
        reply: ChatCompletionMessage | None = None,
        errors: list[tuple[str, str]] | None = None,
        request_report: RequestReport | None = None,
    ):
        self.raw = raw
        self.reply = reply
        self.errors = errors or []
        self.request_report = request_report
        super().__init__(message)


class ProviderError(VVLLMError):
    """A call to a provider failed."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        endpoint_id: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ):
        self.message = message
        self.provider = provider
        self.endpoint_id = endpoint_id
        self.status = status
        self.request_id = request_id
        self.body = body
        self.retry_after = retry_after
        super().__init__(message)

    def retyped(self, cls: type[ProviderError], *, retry_after: float | None = None) -> ProviderError:
        """The same error as ``cls`` (a provider's own error type can say more than the HTTP status)."""
        return cls(
            self.message,
            provider=self.provider,
            endpoint_id=self.endpoint_id,
            status=self.status,
            request_id=self.request_id,
            body=self.body,
            retry_after=self.retry_after if retry_after is None else retry_after,
        )

    def __str__(self) -> str:
        where = [f"provider={self.provider}"] if self.provider else []
        if self.endpoint_id:
            where.append(f"endpoint={self.endpoint_id}")
        if self.status is not None:
            where.append(f"status={self.status}")
        if self.request_id:
            where.append(f"request_id={self.request_id}")
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def redact(self, secrets: list[str]) -> None:
        """Replace any of ``secrets`` the provider echoed back (some quote the key they refused),
        also in their escaped (``repr``/JSON) and URL-encoded forms."""
        secrets = [form for s in secrets if s and len(s.strip()) >= 8 for form in secret_forms(s)]
        if not secrets:
            return
        self.message = _redact(self.message, secrets)
        self.body = _redact(self.body, secrets)
        self.args = tuple(_redact(a, secrets) for a in self.args)


def secret_forms(secret: str) -> list[str]:
    """Every way ``secret`` shows up in text, longest first: as is and stripped of surrounding
    whitespace, ``repr``- and JSON-escaped (a key with a line break, quoted in an error), and
    URL-encoded (a key in a query string)."""
    from json import dumps
    from urllib.parse import quote, quote_plus

    forms: set[str] = set()
    for text in {secret, secret.strip()}:
        if text:
            forms.update(
                (
                    text,
                    repr(text)[1:-1],
                    dumps(text)[1:-1],
                    dumps(text, ensure_ascii=False)[1:-1],
                    repr(text.encode("utf-8", "surrogatepass"))[2:-1],
                    quote(text, safe=""),
                    quote(text),
                    quote_plus(text),
                )
            )
    return sorted(forms, key=len, reverse=True)


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secrets) for v in value]
    if isinstance(value, bytes):
        return _redact(value.decode("utf-8", "replace"), secrets).encode()
    return value


class APIConnectionError(ProviderError):
    """The endpoint could not be reached (refused, reset, DNS, TLS)."""

    retryable = True


class APITimeoutError(APIConnectionError):
    """Connect or read timeout, or the call's overall deadline passed."""


class APIStatusError(ProviderError):
    """The provider answered with an HTTP error status."""


class BadRequestError(APIStatusError):
    """400/404/422: the provider rejected the request itself."""


class AuthenticationError(APIStatusError):
    """401/403: the key is missing, wrong or not allowed."""


class ContextLengthExceededError(BadRequestError):
    """The prompt plus max_tokens exceeds the model's context window."""


class ContentFilteredError(BadRequestError):
    """The provider refused the prompt or the answer on safety grounds."""


class RateLimitError(APIStatusError):
    """429 from the provider."""

    retryable = True


class ServerError(APIStatusError):
    """5xx, including provider 'overloaded' answers."""

    retryable = True


class RateLimited(VVLLMError):
    """Our own RPM/TPM/concurrency limit could not grant a slot before the call's deadline.

    ``limit`` is ``"rpm"``, ``"tpm"`` or ``"concurrency"``; ``model_id`` is set when the limit is the
    model's own on that endpoint; ``retry_after`` estimates when a slot frees (None if unknown).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint_id: str | None = None,
        limit: str | None = None,
        model_id: str | None = None,
        retry_after: float | None = None,
    ):
        self.endpoint_id = endpoint_id
        self.limit = limit
        self.model_id = model_id
        self.retry_after = retry_after
        super().__init__(message)


class RateLimitStoreError(VVLLMError):
    """The shared rate-limit store (Redis or DiskCache) could not be used, so no call was sent."""


class ResponseParseError(ProviderError):
    """The provider's answer could not be understood (not JSON, malformed SSE, unexpected shape)."""


class PartialStreamError(ProviderError):
    """A stream failed after content had arrived. ``partial`` holds everything received so far.

    Nothing is retried or replayed: the caller decides what to do with the partial answer.
    """

    def __init__(self, message: str, *, partial: ChatCompletionMessage, chunks: list[Any] | None = None, **kwargs: Any):
        self.partial = partial
        self.chunks = chunks or []
        super().__init__(message, **kwargs)


def status_error_class(status: int) -> type[APIStatusError]:
    """The error class for an HTTP status."""
    if status == 429:
        return RateLimitError
    if status in (401, 403):
        return AuthenticationError
    if status >= 500:
        return ServerError
    return BadRequestError
