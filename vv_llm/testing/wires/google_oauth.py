"""A fake Google OAuth 2.0 token endpoint, for Vertex AI credentials.

``POST /token`` (``/oauth2/v4/token``) accepts the JWT-bearer grant google-auth's service-account
flow sends and issues access tokens the fake Vertex protocols then accept
(:func:`bearer_token_problem`). ``?expires_in=N`` on the token URI sets the lifetime,
``?fail=invalid_grant`` refuses the grant. :func:`token_requests` counts refreshes.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from vv_llm.testing.protocol import RecordedRequest, Rendered, WireProtocol
from vv_llm.testing.script import Reply, RequestInfo
from vv_llm.testing.wires._common import bearer_token, google_pretty

_LOCK = threading.Lock()
_ISSUED_TOKENS: dict[str, float] = {}
"""Access token → ``time.monotonic()`` at which it expires."""
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
BEARER_CHALLENGE = {"www-authenticate": 'Bearer realm="https://accounts.google.com/"'}
"""The header Google sends with a 401 for a missing or refused bearer token."""


def bearer_token_problem(request: RecordedRequest) -> str | None:
    """Why a Vertex request's bearer token is refused (missing, unknown or expired), or None.

    Any fake Vertex protocol can use this to accept exactly the tokens :class:`GoogleOAuthWire` issued.
    """
    token = (bearer_token(request) or "").strip()
    if not token:
        return (
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other "
            "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
        )
    with _LOCK:
        expires = _ISSUED_TOKENS.get(token)
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


PROTOCOLS = [GoogleOAuthWire()]
