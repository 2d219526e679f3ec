"""The settings schema (VERSION "2"), as pydantic models.

Validation errors are reported with the field path a user would write, e.g.
``backends.openai.models.gpt-4o.endpoints[0]: unknown endpoint 'x'; known: openai-default``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from vv_llm.types.enums import BackendType

_PROXY_SCHEMES = ("http://", "https://", "socks5://", "socks5h://")


def secret_problem(value: str) -> str | None:
    """Why ``value`` cannot be a key or an auth header value (None when it can). Never quotes it."""
    if not value.isascii():
        return "holds a non-ASCII character; keys and header values must be printable ASCII (the value is not shown)"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "holds a control character (e.g. a line break); keys and header values must be printable ASCII (the value is not shown)"
    return None


def _clean_secret(value: Any) -> Any:
    """Strip the whitespace a copy-paste leaves around a secret; refuse what HTTP cannot carry."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        return value
    value = value.strip()
    problem = secret_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class _Strict(BaseModel):
    # Unknown keys are errors: a typo in a settings file must not be silently ignored.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class VertexCredentials(_Strict):
    project_id: str | None = None
    service_account_file: str | None = None
    service_account_info: dict[str, Any] | None = Field(default=None, repr=False)


class BedrockCredentials(_Strict):
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    profile: str | None = None

    _secrets = field_validator("access_key_id", "secret_access_key", "session_token", mode="before")(_clean_secret)


class EndpointSetting(_Strict):
    """One place to send requests: a base URL and its key, with its own limits."""

    id: str = Field(min_length=1)
    api_base: str | None = None
    """Base URL; when empty the backend's default (from the catalogue) is used."""
    api_key: SecretStr | None = None
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    concurrent_requests: int | None = Field(default=None, ge=1)
    proxy: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True
    weight: float = Field(default=1.0, gt=0)
    """Relative share of random endpoint choice."""
    priority: int = 0
    """Lower is preferred: endpoints of the lowest priority are chosen first, others only on failover."""
    is_azure: bool = False
    api_version: str | None = None
    is_vertex: bool = False
    is_bedrock: bool = False
    region: str | None = None
    credentials: VertexCredentials | BedrockCredentials | None = Field(default=None, repr=False)
    timeout: float | None = Field(default=None, gt=0)

    _secret = field_validator("api_key", mode="before")(_clean_secret)

    @field_validator("headers", mode="before")
    @classmethod
    def _header_values(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        cleaned = {}
        for name, text in value.items():
            if isinstance(text, str):
                text = text.strip()
                problem = secret_problem(text)
                if problem:
                    raise ValueError(f"header {str(name)[:64]!r} {problem}")
            cleaned[name] = text
        return cleaned

    @field_validator("proxy")
    @classmethod
    def _proxy_scheme(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.lower().startswith(_PROXY_SCHEMES):
            scheme = f"scheme {value.partition('://')[0][:16]!r}" if "://" in value else "without a scheme"
            raise ValueError(f"a proxy URL {scheme} is not supported; use http://, https://, socks5:// or socks5h://")
        return value

    @field_validator("api_base")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {value!r})")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _deployment_kind(self) -> EndpointSetting:
        kinds = [k for k in ("is_azure", "is_vertex", "is_bedrock") if getattr(self, k)]
        if len(kinds) > 1:
            raise ValueError(f"only one of is_azure, is_vertex, is_bedrock may be set (got {', '.join(kinds)})")
        return self

    def secret_key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key is not None else None


class ModelEndpointRef(_Strict):
    """A model's use of an endpoint, optionally under another model id there."""

    endpoint_id: str
    model_id: str | None = None
    enabled: bool = True
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)


def _endpoint_ref(value: Any) -> Any:
    if isinstance(value, str):
        return {"endpoint_id": value}
    return value


class PriceTier(_Strict):
    """Prices that apply to a whole call once its prompt is longer than ``above_prompt_tokens``."""

    above_prompt_tokens: int = Field(ge=0)
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)


class ModelPrices(_Strict):
    """USD per million tokens; ``tiers`` replace them for long prompts (e.g. Gemini 2.5 Pro above 200k)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    tiers: list[PriceTier] = Field(default_factory=list)

    @field_validator("tiers")
    @classmethod
    def _distinct_thresholds(cls, tiers: list[PriceTier]) -> list[PriceTier]:
        thresholds = [tier.above_prompt_tokens for tier in tiers]
        if len(set(thresholds)) != len(thresholds):
            raise ValueError(f"two tiers share above_prompt_tokens (got {thresholds})")
        return sorted(tiers, key=lambda tier: tier.above_prompt_tokens)


class ModelSetting(_Strict):
    id: str | None = None
    """The provider's model id; defaults to the model's name in settings."""
    endpoints: list[ModelEndpointRef] = Field(default_factory=list)
    context_length: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    function_call_available: bool | None = None
    response_format_available: bool | None = None
    native_multimodal: bool | None = None
    reasoning: bool | None = None
    structured_output: Literal["json_schema", "json_object", "tool", "instruction"] | None = None
    """How the model takes ``response_format``: ``json_schema`` (the provider's native schema-constrained
    output), ``json_object`` (JSON mode only; the schema goes in an instruction), ``tool`` (a forced tool
    call) or ``instruction`` (a system instruction). The reply is validated locally whatever the mechanism."""
    adaptive_thinking: bool | None = None
    """Thinking is asked for as Anthropic's ``{"type": "adaptive"}`` plus an effort (Claude 4.6 and
    later; Opus 4.7 and the 5.x models accept nothing else)."""
    prices: ModelPrices | None = None
    enabled: bool = True

    @field_validator("endpoints", mode="before")
    @classmethod
    def _refs(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_endpoint_ref(v) for v in value]
        return value


class BackendSetting(_Strict):
    models: dict[str, ModelSetting] = Field(default_factory=dict)
    endpoints: list[ModelEndpointRef] = Field(default_factory=list)
    """Endpoints used by any model of this backend that lists none (incl. catalogue models)."""
    default_model: str | None = None

    @field_validator("endpoints", mode="before")
    @classmethod
    def _refs(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_endpoint_ref(v) for v in value]
        return value


class RedisSetting(_Strict):
    url: str | None = None
    host: str = "localhost"
    port: int = 6379
    db: int = 0
    password: SecretStr | None = None

    _secret = field_validator("password", mode="before")(_clean_secret)


class DiskCacheSetting(_Strict):
    cache_dir: str = ".vv_llm_rate_limit"


class RateLimitSetting(_Strict):
    enabled: bool = True
    backend: Literal["memory", "redis", "diskcache"] = "memory"
    redis: RedisSetting = Field(default_factory=RedisSetting)
    diskcache: DiskCacheSetting = Field(default_factory=DiskCacheSetting)
    default_rpm: int | None = Field(default=None, ge=1)
    default_tpm: int | None = Field(default=None, ge=1)
    window_seconds: float = Field(default=60.0, gt=0)
    """Length of the RPM/TPM window (60 s; shorter only for tests)."""


class RetrySetting(_Strict):
    max_attempts: int = Field(default=3, ge=1)
    """Attempts per call made after a backoff sleep (1 = no retry). Failing over at once to an
    endpoint not yet tried in the call is not counted."""
    backoff_initial: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=20.0, ge=0)
    cooldown_seconds: float = Field(default=30.0, ge=0)
    """How long an endpoint that failed is avoided."""


class TimeoutSetting(_Strict):
    connect: float = Field(default=10.0, gt=0)
    read: float = Field(default=600.0, gt=0)
    total: float | None = Field(default=None, gt=0)
    """Overall deadline of one call, retries and rate-limit waits included (no read waits past it)."""


class SettingsModel(_Strict):
    VERSION: Literal["2"] = "2"
    endpoints: list[EndpointSetting] = Field(default_factory=list)
    backends: dict[str, BackendSetting] = Field(default_factory=dict)
    rate_limit: RateLimitSetting = Field(default_factory=RateLimitSetting)
    retry: RetrySetting = Field(default_factory=RetrySetting)
    timeouts: TimeoutSetting = Field(default_factory=TimeoutSetting)
    token_server: dict[str, Any] | None = None

    @field_validator("backends", mode="before")
    @classmethod
    def _backend_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        normalised: dict[str, Any] = {}
        for key, setting in value.items():
            try:
                normalised[BackendType.parse(key).value] = setting
            except ValueError as exc:
                raise ValueError(f"backends.{key}: {exc}") from None
        return normalised
