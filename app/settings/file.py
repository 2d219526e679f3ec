"""The user's settings file: read, validate with the engine's own rules, write atomically (0600).

Also the two safety helpers every export path uses: ``redact`` (a copy without secrets) and
``secret_values`` (every secret string, so stored text can be scrubbed of them).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vv_llm.errors import SettingsError
from vv_llm.settings import Settings
from vv_llm.settings.store import read_settings_file

EMPTY: dict[str, Any] = {"VERSION": "2"}
_SECRET_CREDENTIALS = ("access_key_id", "secret_access_key", "session_token", "service_account_info")
_SECRET_HEADER_WORDS = ("authorization", "key", "token", "secret", "cookie")


@dataclass
class LoadedSettings:
    """What was read from the settings file. ``problem`` explains an unreadable file."""

    path: Path
    data: dict[str, Any] = field(default_factory=lambda: dict(EMPTY))
    exists: bool = False
    problem: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.problem is None and not self.errors


def read_settings(path: Path) -> LoadedSettings:
    """Read and validate the file; a missing file is empty settings, never an error."""
    loaded = LoadedSettings(path)
    if not path.exists():
        return loaded
    loaded.exists = True
    try:
        raw: Any = read_settings_file(path) if path.read_bytes().strip() else dict(EMPTY)
    except OSError as exc:
        loaded.problem = f"cannot read {path}: {exc.strerror}"
        return loaded
    except SettingsError as exc:
        loaded.problem = "; ".join(message for _, message in exc.errors)
        return loaded
    loaded.data = raw
    try:
        loaded.data = normalize(raw)
    except SettingsError as exc:
        if any(not path for path, _ in exc.errors):  # the document as a whole is unusable (e.g. nested too deeply)
            loaded.data = dict(EMPTY)
            loaded.problem = "; ".join(message for _, message in exc.errors)
        else:
            loaded.errors = list(exc.errors)
    return loaded


def validate(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The engine's ``(field_path, message)`` errors for ``data`` (empty when valid)."""
    try:
        Settings.validate(data)
    except SettingsError as exc:
        return list(exc.errors)
    return []


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    """Validate ``data`` (any accepted layout) and return it as a plain VERSION "2" dict, secrets kept."""
    model = Settings.validate(data)
    plain = _unwrap_secrets(model.model_dump(mode="python", exclude_defaults=True))
    plain["VERSION"] = "2"
    for backend in (plain.get("backends") or {}).values():
        for holder in [backend, *(backend.get("models") or {}).values()]:
            refs = _compact_refs(holder.pop("endpoints", None))
            if refs:
                holder["endpoints"] = refs
    return plain


def _compact_refs(refs: Any) -> list[Any]:
    out = []
    for ref in refs or []:
        if isinstance(ref, dict) and set(ref) == {"endpoint_id"}:
            out.append(ref["endpoint_id"])
        else:
            out.append(ref)
    return out


def _unwrap_secrets(value: Any) -> Any:
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


def write_settings(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Validate, then replace the file atomically with mode 0600. Returns the normalized data.

    Raises :class:`SettingsError` (and writes nothing) when ``data`` is invalid.
    """
    if path.suffix.lower() == ".toml":
        raise SettingsError([("", f"{path} is a TOML file; the playground only writes JSON settings files")])
    normalized = normalize(data)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(normalized, f, indent=2, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)
    return normalized


def has_usable_endpoint(data: dict[str, Any]) -> bool:
    """Whether any enabled endpoint could reach a real provider: it has a key or cloud credentials,
    or a ``local`` backend model uses it (local servers usually need no key)."""
    endpoints = [e for e in data.get("endpoints") or [] if isinstance(e, dict) and e.get("enabled", True)]
    local_refs = _local_endpoint_ids(data)
    for endpoint in endpoints:
        if endpoint.get("api_key") or endpoint.get("credentials") or endpoint.get("is_bedrock"):
            return True
        if endpoint.get("id") in local_refs:
            return True
    return False


def _local_endpoint_ids(data: dict[str, Any]) -> set[str]:
    local = (data.get("backends") or {}).get("local") or {}
    refs = list(local.get("endpoints") or [])
    for model in (local.get("models") or {}).values():
        if isinstance(model, dict):
            refs += list(model.get("endpoints") or [])
    ids = {r if isinstance(r, str) else r.get("endpoint_id") for r in refs if isinstance(r, (str, dict))}
    return {i for i in ids if isinstance(i, str)}


def strip_url_password(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _secret_header(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_HEADER_WORDS)


def redact(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` without API keys, cloud secrets, secret headers or passwords in URLs."""
    out = copy.deepcopy(data)
    for endpoint in out.get("endpoints") or []:
        if not isinstance(endpoint, dict):
            continue
        endpoint.pop("api_key", None)
        credentials = endpoint.get("credentials")
        if isinstance(credentials, dict):
            for name in _SECRET_CREDENTIALS:
                credentials.pop(name, None)
            if not credentials:
                endpoint.pop("credentials")
        headers = endpoint.get("headers")
        if isinstance(headers, dict):
            endpoint["headers"] = {k: v for k, v in headers.items() if not _secret_header(k)}
        if isinstance(endpoint.get("proxy"), str):
            endpoint["proxy"] = strip_url_password(endpoint["proxy"])
    redis = (out.get("rate_limit") or {}).get("redis")
    if isinstance(redis, dict):
        redis.pop("password", None)
        if isinstance(redis.get("url"), str):
            redis["url"] = strip_url_password(redis["url"])
    return out


def secret_values(data: dict[str, Any]) -> list[str]:
    """Every secret string in ``data`` (longest first), for scrubbing text before it is stored."""
    found: list[str] = []
    for endpoint in data.get("endpoints") or []:
        if not isinstance(endpoint, dict):
            continue
        found.append(endpoint.get("api_key") or "")
        credentials = endpoint.get("credentials")
        if isinstance(credentials, dict):
            found += [credentials.get(n) or "" for n in _SECRET_CREDENTIALS if isinstance(credentials.get(n), str)]
            info = credentials.get("service_account_info")
            if isinstance(info, dict):
                found += [v for k, v in info.items() if "key" in k and isinstance(v, str)]
        for name, value in (endpoint.get("headers") or {}).items():
            if _secret_header(name) and isinstance(value, str):
                found.append(value)
        proxy = endpoint.get("proxy")
        if isinstance(proxy, str) and "@" in proxy:
            found.append(urlsplit(proxy).password or "")
    redis = (data.get("rate_limit") or {}).get("redis") or {}
    if isinstance(redis, dict) and isinstance(redis.get("password"), str):
        found.append(redis["password"])
    return sorted({s for s in found if isinstance(s, str) and len(s) >= 4}, key=len, reverse=True)


def mask_secret(secret: str | None) -> str:
    """``••••1234``: only the last 4 characters of a long key, nothing of a short one."""
    if not secret:
        return ""
    return "••••••••" + secret[-4:] if len(secret) >= 12 else "••••"
