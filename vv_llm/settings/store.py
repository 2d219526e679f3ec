"""The process-wide settings object: load, validate, resolve a model to its endpoints."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vv_llm.errors import SettingsError, UnknownModelError
from vv_llm.settings.catalogue import backend_entry, catalogue_model, default_api_base
from vv_llm.settings.errors_format import pydantic_errors
from vv_llm.settings.upgrade import upgrade
from vv_llm.types.enums import BackendType

if TYPE_CHECKING:
    from vv_llm.settings.schema import EndpointSetting, ModelSetting, SettingsModel

SETTINGS_ENV_VAR = "VV_LLM_SETTINGS"
"""Environment variable naming a JSON or TOML settings file, loaded on first use."""


@dataclass(frozen=True)
class ResolvedEndpoint:
    """An endpoint as one model uses it."""

    endpoint: EndpointSetting
    model_id: str
    api_base: str | None
    rpm: int | None = None
    tpm: int | None = None

    @property
    def id(self) -> str:
        return self.endpoint.id


@dataclass(frozen=True)
class ResolvedModel:
    """A model merged with the catalogue, and the enabled endpoints that serve it."""

    backend: BackendType
    name: str
    setting: ModelSetting
    endpoints: tuple[ResolvedEndpoint, ...]
    tokenizer: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def context_length(self) -> int | None:
        return self.setting.context_length

    @property
    def max_output_tokens(self) -> int | None:
        return self.setting.max_output_tokens


def read_settings_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The object in a JSON or TOML settings file; any problem is a :class:`SettingsError` naming the file."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError([("", f"cannot read settings file {where!r}: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        raise SettingsError([("", f"settings file {where!r} is not UTF-8 text (byte {exc.start} cannot be decoded)")]) from None
    kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
    try:
        if kind == "TOML":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text)
    except RecursionError:
        raise SettingsError([("", f"settings file {where!r} is nested too deeply to be settings")]) from None
    except ValueError as exc:
        raise SettingsError([("", f"settings file {where!r} is not valid {path.suffix.lstrip('.') or kind}: {exc}")]) from None
    if not isinstance(data, dict):
        raise SettingsError([("", f"settings file {where!r} must hold a {kind} object, not {type(data).__name__}")])
    return data


class Settings:
    """vv-llm's settings. ``settings.load({...})`` replaces them; reading them is lock-free.

    Until something is loaded, the file named by ``$VV_LLM_SETTINGS`` is loaded on first use.
    """

    def __init__(self) -> None:
        self._model: SettingsModel | None = None
        self._lock = threading.Lock()
        self._resolved: dict[tuple[str, str], ResolvedModel] = {}
        self.generation = 0
        """Incremented by every load, so caches keyed on it notice new settings."""

    # -- loading -------------------------------------------------------------------------
    def load(self, data: Mapping[str, Any] | SettingsModel) -> None:
        """Validate ``data`` (VERSION "2", or an older layout that is upgraded) and make it current."""
        model = self.validate(data)
        with self._lock:
            self._model = model
            self._resolved = {}
            self.generation += 1

    @staticmethod
    def validate(data: Mapping[str, Any] | SettingsModel) -> SettingsModel:
        """Validate without loading; raises :class:`SettingsError` naming every bad field."""
        from pydantic import ValidationError

        from vv_llm.settings.schema import SettingsModel

        if isinstance(data, SettingsModel):
            model = data
        else:
            if not isinstance(data, Mapping):
                raise SettingsError([("", f"settings must be a mapping, got {type(data).__name__}")])
            if _deeper_than(data, MAX_DEPTH):
                raise SettingsError([("", f"settings are nested too deeply (more than {MAX_DEPTH} levels)")])
            raw = upgrade(dict(data))
            errors = _precheck(raw)
            if errors:
                raise SettingsError(errors)
            try:
                model = SettingsModel.model_validate(raw)
            except ValidationError as exc:
                raise SettingsError(pydantic_errors(exc)) from None
            except RecursionError:
                raise SettingsError([("", "settings are nested too deeply")]) from None
        errors = _cross_check(model)
        if errors:
            raise SettingsError(errors)
        return model

    def load_file(self, path: str | os.PathLike[str]) -> None:
        """Load a JSON or TOML settings file (a bad one → :class:`SettingsError` naming the file)."""
        data = read_settings_file(path)
        try:
            self.load(data)
        except SettingsError as exc:
            raise SettingsError([(p, f"{m} (in {str(path)!r})" if not p else m) for p, m in exc.errors]) from None

    def load_from_env(self, var: str = SETTINGS_ENV_VAR) -> bool:
        """Load the file named by the environment variable; False when it is not set."""
        path = os.environ.get(var)
        if not path:
            return False
        self.load_file(path)
        return True

    def reset(self) -> None:
        """Forget loaded settings (the next use reads ``$VV_LLM_SETTINGS`` again)."""
        with self._lock:
            self._model = None
            self._resolved = {}
            self.generation += 1

    @property
    def model(self) -> SettingsModel:
        """The current settings as a validated pydantic model."""
        current = self._model
        if current is None:
            with self._lock:
                current = self._model
            if current is None:
                if not self.load_from_env():
                    self.load({"VERSION": "2"})
                current = self._model
        assert current is not None
        return current

    @property
    def is_loaded(self) -> bool:
        return self._model is not None

    def __getattr__(self, name: str) -> Any:
        # settings.endpoints, settings.backends, settings.rate_limit, ... read through.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.model, name)

    def dump(self, *, include_secrets: bool = False) -> dict[str, Any]:
        """The settings as a plain dict (keys replaced by ``"***"`` unless ``include_secrets``)."""
        data = self.model.model_dump(mode="json", exclude_defaults=True)
        data["VERSION"] = "2"
        if include_secrets:
            for endpoint, raw in zip(self.model.endpoints, data.get("endpoints", []), strict=False):
                if endpoint.api_key is not None:
                    raw["api_key"] = endpoint.api_key.get_secret_value()
        else:
            for raw in data.get("endpoints", []):
                if raw.get("api_key"):
                    raw["api_key"] = "***"
        return data

    # -- lookup --------------------------------------------------------------------------
    def get_endpoint(self, endpoint_id: str) -> EndpointSetting:
        for endpoint in self.model.endpoints:
            if endpoint.id == endpoint_id:
                return endpoint
        known = ", ".join(e.id for e in self.model.endpoints) or "(none configured)"
        raise SettingsError([("endpoints", f"unknown endpoint {endpoint_id!r}; known: {known}")])

    def known_models(self, backend: BackendType | str) -> list[str]:
        """Model names usable with ``backend``: configured ones and the catalogue's."""
        key = BackendType.parse(backend).value
        configured = self.model.backends.get(key)
        names = list(configured.models) if configured else []
        names += [name for name in backend_entry(key)["models"] if name not in names]
        return names

    def default_model(self, backend: BackendType | str) -> str:
        key = BackendType.parse(backend).value
        configured = self.model.backends.get(key)
        if configured and configured.default_model:
            return configured.default_model
        if configured and configured.models:
            return next(iter(configured.models))
        known = self.known_models(key)
        if known:
            return known[0]
        raise UnknownModelError(f"no model given and none configured for backend {key!r}")

    def resolve(self, backend: BackendType | str, model: str | None = None) -> ResolvedModel:
        """The model's merged setting and enabled endpoints (cached until the next load)."""
        backend = BackendType.parse(backend)
        name = model or self.default_model(backend)
        cache_key = (backend.value, name)
        resolved = self._resolved.get(cache_key)
        if resolved is None:
            resolved = self._resolve(backend, name)
            self._resolved[cache_key] = resolved
        return resolved

    def _resolve(self, backend: BackendType, name: str) -> ResolvedModel:
        from vv_llm.settings.schema import ModelSetting

        settings = self.model
        configured_backend = settings.backends.get(backend.value)
        user = configured_backend.models.get(name) if configured_backend else None
        base = catalogue_model(backend.value, name)
        if user is None and base is None:
            known = ", ".join(self.known_models(backend)) or "(none)"
            raise UnknownModelError(f"unknown model {name!r} for backend {backend.value!r}; known: {known}")
        merged = dict(base or {})
        tokenizer = merged.pop("tokenizer", None) or backend_entry(backend.value).get("tokenizer")
        merged.pop("token_scale", None)  # the catalogue's estimate factor, read by the token counters
        merged.pop("price_source", None)  # where the catalogue's prices came from, read by vv_llm.pricing
        if user is not None:
            merged.update(user.model_dump(exclude_unset=True))
        setting = ModelSetting.model_validate(merged)
        if user is not None and not user.enabled:
            raise UnknownModelError(f"model {name!r} of backend {backend.value!r} is disabled in settings")

        refs = setting.endpoints or (configured_backend.endpoints if configured_backend else [])
        by_id = {e.id: e for e in settings.endpoints}
        endpoints = []
        for ref in refs:
            endpoint = by_id[ref.endpoint_id]
            if not (ref.enabled and endpoint.enabled):
                continue
            endpoints.append(
                ResolvedEndpoint(
                    endpoint=endpoint,
                    model_id=ref.model_id or setting.id or name,
                    api_base=endpoint.api_base or default_api_base(backend.value),
                    rpm=ref.rpm,
                    tpm=ref.tpm,
                )
            )
        if not endpoints:
            reason = "all its endpoints are disabled" if refs else "no endpoint is configured for it"
            raise SettingsError([(f"backends.{backend.value}.models.{name}.endpoints", f"model {name!r} cannot be called: {reason}")])
        return ResolvedModel(backend=backend, name=name, setting=setting, endpoints=tuple(endpoints), tokenizer=tokenizer)


MAX_DEPTH = 64
"""Settings nest a few levels; a document deeper than this is refused before anything walks it."""


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether ``data`` nests dicts/lists more than ``limit`` levels (checked without recursion)."""
    level: list[Any] = [data]
    for _ in range(limit + 1):
        level = [child for item in level for child in (item.values() if isinstance(item, dict) else item if isinstance(item, list) else ())]
        if not level:
            return False
    return True


def _precheck(raw: dict[str, Any]) -> list[tuple[str, str]]:
    errors = []
    backends = raw.get("backends")
    if isinstance(backends, dict):
        for key in backends:
            try:
                BackendType.parse(key)
            except ValueError as exc:
                errors.append((f"backends.{key}", str(exc)))
    return errors


def _cross_check(model: SettingsModel) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, endpoint in enumerate(model.endpoints):
        if endpoint.id in seen:
            errors.append((f"endpoints[{i}].id", f"duplicate endpoint id {endpoint.id!r}"))
        seen.add(endpoint.id)
        if endpoint.is_azure and not endpoint.api_base:
            errors.append((f"endpoints[{i}].api_base", "an Azure endpoint needs api_base (https://<resource>.openai.azure.com)"))
        if endpoint.is_bedrock and not endpoint.region:
            errors.append((f"endpoints[{i}].region", "a Bedrock endpoint needs region (e.g. us-east-1)"))
        if endpoint.is_vertex and not endpoint.region:
            errors.append((f"endpoints[{i}].region", "a Vertex AI endpoint needs region (e.g. us-central1)"))
    known = ", ".join(e.id for e in model.endpoints) or "(none configured)"
    for backend_name, backend in model.backends.items():
        for j, ref in enumerate(backend.endpoints):
            if ref.endpoint_id not in seen:
                errors.append((f"backends.{backend_name}.endpoints[{j}]", f"unknown endpoint {ref.endpoint_id!r}; known: {known}"))
        for model_name, model_setting in backend.models.items():
            for j, ref in enumerate(model_setting.endpoints):
                if ref.endpoint_id not in seen:
                    errors.append(
                        (
                            f"backends.{backend_name}.models.{model_name}.endpoints[{j}]",
                            f"unknown endpoint {ref.endpoint_id!r}; known: {known}",
                        )
                    )
        default = backend.default_model
        if default and default not in backend.models and catalogue_model(backend_name, default) is None:
            errors.append((f"backends.{backend_name}.default_model", f"unknown model {backend.default_model!r}"))
    return errors
