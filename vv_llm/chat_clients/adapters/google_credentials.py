"""Google Cloud access tokens for Vertex AI endpoints, via google-auth.

Credentials come from the endpoint's settings (``credentials.service_account_file`` or
``credentials.service_account_info``) or, when neither is given, from the environment's default
(``google.auth.default()``: ``GOOGLE_APPLICATION_CREDENTIALS``, gcloud, the metadata server).
Problems are :class:`~vv_llm.errors.SettingsError` naming the endpoint and field, raised when
the adapter is built (at client creation). The token is cached — shared by every client of the
same endpoint — and refreshed :data:`REFRESH_MARGIN` seconds before it expires. ``refresh()``
blocks (a JWT-bearer grant over HTTP); the async client runs it in a worker thread.

Every Vertex adapter uses this module::

    credentials = vertex_credentials(endpoint.endpoint, provider="vertex")
    if credentials.refresh_due(): credentials.refresh()
    headers = credentials.auth_headers()            # {"authorization": "Bearer ..."}
    url = vertex_base_url(endpoint.endpoint, credentials.project_id) + "/publishers/google/models/..."
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

from vv_llm.errors import APIConnectionError, AuthenticationError, SettingsError
from vv_llm.settings.schema import EndpointSetting, VertexCredentials

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
REFRESH_MARGIN = 300.0
"""Seconds before expiry at which a token is refreshed."""
TOKEN_TIMEOUT = 30.0
"""Seconds allowed for one token request."""


def field_path(endpoint: EndpointSetting, field: str) -> str:
    """The settings path of an endpoint's field, as errors name it."""
    return f"endpoints[{endpoint.id}].{field}"


class GoogleCredentials:
    """An OAuth access token for Google Cloud (scope cloud-platform), cached and refreshed early."""

    def __init__(self, endpoint: EndpointSetting, *, provider: str = "vertex"):
        self.endpoint_id = endpoint.id
        self.provider = provider
        self._proxy = endpoint.proxy
        self._credentials, project = _load(endpoint)
        self.project_id: str = project
        self._lock = threading.Lock()
        self._expires_at = -math.inf
        """``time.monotonic()`` at which the current token expires."""
        self._headers: dict[str, str] = {}
        self.refreshes = 0
        """How many tokens were fetched (for diagnostics and tests)."""

    def refresh_due(self) -> bool:
        """True when there is no token yet or it expires within :data:`REFRESH_MARGIN` seconds."""
        return time.monotonic() >= self._expires_at - REFRESH_MARGIN

    def refresh(self) -> None:
        """Fetch a new token if one is (still) due. Blocking; safe to call from several threads."""
        with self._lock:
            if not self.refresh_due():
                return  # another thread refreshed while this one waited
            from google.auth import exceptions

            try:
                self._credentials.refresh(_HttpxRequest(self._proxy))
            except exceptions.TransportError as exc:
                raise APIConnectionError(
                    f"could not reach the Google token endpoint: {_short(exc)}", provider=self.provider, endpoint_id=self.endpoint_id
                ) from None
            except exceptions.GoogleAuthError as exc:
                raise AuthenticationError(
                    f"Google rejected the endpoint's credentials: {_short(exc)}", provider=self.provider, endpoint_id=self.endpoint_id
                ) from None
            headers: dict[str, str] = {}
            self._credentials.apply(headers)
            self._headers = {name.lower(): value for name, value in headers.items()}
            self._expires_at = time.monotonic() + _seconds_left(getattr(self._credentials, "expiry", None))
            self.refreshes += 1

    def auth_headers(self) -> dict[str, str]:
        """``authorization: Bearer <token>`` (and ``x-goog-user-project`` when the credentials name
        a quota project). Empty until the first :meth:`refresh`."""
        return self._headers

    def __repr__(self) -> str:
        return f"GoogleCredentials(endpoint={self.endpoint_id!r}, project={self.project_id!r})"


_CACHE: dict[str, GoogleCredentials] = {}
_CACHE_LOCK = threading.Lock()


def vertex_credentials(endpoint: EndpointSetting, *, provider: str = "vertex") -> GoogleCredentials:
    """The shared :class:`GoogleCredentials` of ``endpoint`` (built, and checked, on first use).

    Clients of the same endpoint with the same credential settings share one cached token.
    """
    setting = endpoint.credentials
    key = json.dumps(
        [endpoint.id, endpoint.proxy, setting.model_dump(mode="json") if setting is not None else None, provider],
        sort_keys=True,
        default=str,
    )
    with _CACHE_LOCK:
        credentials = _CACHE.get(key)
    if credentials is None:
        credentials = GoogleCredentials(endpoint, provider=provider)
        with _CACHE_LOCK:
            credentials = _CACHE.setdefault(key, credentials)
    return credentials


def clear_credentials_cache() -> None:
    """Forget every cached token (the next call of each endpoint fetches a new one)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def vertex_host(endpoint: EndpointSetting) -> str:
    """``https://{region}-aiplatform.googleapis.com`` (``aiplatform.googleapis.com`` for region
    ``global``), or the endpoint's own ``api_base`` when one is set."""
    if endpoint.api_base:
        return endpoint.api_base
    region = endpoint.region or "us-central1"
    return "https://aiplatform.googleapis.com" if region == "global" else f"https://{region}-aiplatform.googleapis.com"


def vertex_base_url(endpoint: EndpointSetting, project_id: str) -> str:
    """``{host}/v1/projects/{project}/locations/{region}``; append ``/publishers/...``.

    An ``api_base`` that already ends in an API version (``/v1``, ``/v1beta1``) keeps it.
    """
    host = vertex_host(endpoint)
    if not re.search(r"/v1(beta1)?$", host):
        host += "/v1"
    return f"{host}/projects/{project_id}/locations/{endpoint.region or 'us-central1'}"


# -- loading -------------------------------------------------------------------------------
def _load(endpoint: EndpointSetting) -> tuple[Any, str]:
    setting = endpoint.credentials
    if setting is not None and not isinstance(setting, VertexCredentials):
        raise SettingsError(
            [
                (
                    field_path(endpoint, "credentials"),
                    f"endpoint {endpoint.id!r} is a Vertex AI endpoint but its credentials are not Vertex credentials "
                    "(give project_id and service_account_file or service_account_info)",
                )
            ]
        )
    try:
        import google.auth
        from google.auth import exceptions
    except ImportError:  # pragma: no cover - google-auth is a dependency
        raise SettingsError(
            [(field_path(endpoint, "is_vertex"), "Vertex AI endpoints need google-auth: pip install 'vv-llm[vertex]'")]
        ) from None
    explicit_project = setting.project_id if setting is not None else None
    if setting is not None and setting.service_account_info is not None:
        field = field_path(endpoint, "credentials.service_account_info")
        credentials, project = _service_account(dict(setting.service_account_info), field, "service_account_info")
    elif setting is not None and setting.service_account_file:
        field = field_path(endpoint, "credentials.service_account_file")
        path = setting.service_account_file
        try:
            with open(path, encoding="utf-8") as f:
                info = json.load(f)
        except OSError as exc:
            raise SettingsError([(field, f"cannot read service account file {path!r}: {exc.strerror}")]) from None
        except ValueError:
            raise SettingsError([(field, f"service account file {path!r} is not valid JSON")]) from None
        credentials, project = _service_account(info, field, f"service account file {path!r}")
    else:
        try:
            credentials, project = google.auth.default(scopes=SCOPES)
        except exceptions.GoogleAuthError as exc:
            raise SettingsError(
                [
                    (
                        field_path(endpoint, "credentials"),
                        "no service account configured (credentials.service_account_file or service_account_info) and "
                        f"the environment's default Google credentials are not available: {_short(exc)}",
                    )
                ]
            ) from None
    project = explicit_project or project
    if not project:
        raise SettingsError(
            [
                (
                    field_path(endpoint, "credentials.project_id"),
                    f"endpoint {endpoint.id!r}: the Google Cloud project is unknown; set it here",
                )
            ]
        )
    return credentials, project


def _service_account(info: Any, field: str, what: str) -> tuple[Any, str | None]:
    from google.oauth2 import service_account

    if not isinstance(info, dict):
        raise SettingsError([(field, f"{what} must be a JSON object (a service account key)")])
    kind = info.get("type", "service_account")
    if kind != "service_account":
        raise SettingsError(
            [
                (
                    field,
                    f"{what} holds {kind!r} credentials, not a service account key; for other credential types "
                    "leave the service account unset and use the environment's default (GOOGLE_APPLICATION_CREDENTIALS)",
                )
            ]
        )
    missing = [name for name in ("client_email", "private_key", "token_uri") if not info.get(name)]
    if missing:
        raise SettingsError([(field, f"{what} is not a complete service account key: missing {', '.join(missing)}")])
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    except (ValueError, TypeError, KeyError) as exc:
        raise SettingsError([(field, f"{what} is not a usable service account key: {_short(exc)}")]) from None
    return credentials, info.get("project_id")


def _seconds_left(expiry: datetime | None) -> float:
    if expiry is None:
        return math.inf
    if expiry.tzinfo is None:  # google-auth keeps naive UTC datetimes
        expiry = expiry.replace(tzinfo=UTC)
    return (expiry - datetime.now(UTC)).total_seconds()


def _short(exc: BaseException) -> str:
    """An exception's message on one line, without google-auth's tuple wrapping."""
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return " ".join(text.split())[:300]


class _HttpxRequest:
    """google-auth's transport interface (``google.auth.transport.Request``) over httpx."""

    def __init__(self, proxy: str | None):
        self._proxy = proxy

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        import httpx
        from google.auth import exceptions

        try:
            with httpx.Client(proxy=self._proxy, timeout=timeout or TOKEN_TIMEOUT) as client:
                response = client.request(method, url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise exceptions.TransportError(f"{type(exc).__name__}: {exc}") from None
        return _Response(response.status_code, dict(response.headers), response.content)


class _Response:
    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], data: bytes):
        self.status = status
        self.headers = headers
        self.data = data
