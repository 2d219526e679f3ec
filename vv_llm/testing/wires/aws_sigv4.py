"""The AWS Signature Version 4 checks Bedrock's front end makes of a request's headers (the
form, not the signature's value), and Bedrock API keys sent as bearer tokens."""

from __future__ import annotations

import re

from vv_llm.testing.protocol import RecordedRequest
from vv_llm.testing.wires._common import bearer_token

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z-]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")


def sigv4_problem(request: RecordedRequest) -> tuple[str, str] | None:
    """``(exception, message)`` when the request is not SigV4-signed (nor bearer-authenticated) as Bedrock requires."""
    token = bearer_token(request)
    if token is not None:
        return None if token.strip() else ("UnrecognizedClientException", "The security token included in the request is invalid.")
    auth = request.headers.get("authorization", "")
    if not auth:
        return "MissingAuthenticationTokenException", "Missing Authentication Token"
    match = _AUTH.match(auth)
    if match is None:
        return (
            "IncompleteSignatureException",
            f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' in AWS4-HMAC-SHA256 form: {auth[:40]}",
        )
    date = request.headers.get("x-amz-date", "")
    if not _AMZ_DATE.match(date):
        return "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    signed = match["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "IncompleteSignatureException", "The host and x-amz-date headers must be signed."
    if match["date"] != date[:8]:
        return "InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP."
    if match["service"] != "bedrock":
        return "InvalidSignatureException", f"Credential should be scoped to correct service: 'bedrock'. (got {match['service']!r})"
    if "x-amz-security-token" in request.headers and "x-amz-security-token" not in signed:
        return "IncompleteSignatureException", "x-amz-security-token must be signed."
    return None


def access_key_of(request: RecordedRequest) -> str:
    """The access key id (or API key) a request authenticates with."""
    token = bearer_token(request)
    if token is not None:
        return token.strip()
    match = _AUTH.match(request.headers.get("authorization", ""))
    return match["key"] if match else ""
