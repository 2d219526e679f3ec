"""The models the playground can call right now, as picker options (``backend/model`` refs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vv_llm.errors import VVLLMError
from vv_llm.settings import settings
from vv_llm.types import BackendType


@dataclass(frozen=True)
class ModelOption:
    backend: str
    name: str
    demo: bool = False
    configured: bool = False
    """Listed in the user's settings (not only in the built-in catalogue)."""
    reasoning: bool = False
    description: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.backend}/{self.name}"

    @property
    def label(self) -> str:
        return f"{self.name} · {self.backend}" + (" · demo (offline simulator)" if self.demo else "")


def parse_ref(ref: str) -> tuple[str, str]:
    """``"openai/gpt-4o"`` → ``("openai", "gpt-4o")`` (model names may contain ``/`` themselves)."""
    backend, sep, name = ref.partition("/")
    if not sep or not name:
        raise ValueError(f"model reference must be 'backend/model', got {ref!r}")
    return backend, name


_cache: dict[tuple[int, frozenset[str], tuple[str, ...]], list[ModelOption]] = {}


def model_options(
    demo_endpoint_ids: set[str], describe: Callable[[str], str | None] | None = None, demo_order: Sequence[str] = ()
) -> list[ModelOption]:
    """Every model with at least one enabled endpoint: the ones listed in settings first, then the
    built-in catalogue's, then the demo models (in ``demo_order``)."""
    key = (settings.generation, frozenset(demo_endpoint_ids), tuple(demo_order))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    options: list[ModelOption] = []
    backends = settings.model.backends
    for backend in BackendType:
        configured = backends.get(backend.value)
        for name in settings.known_models(backend):
            try:
                resolved = settings.resolve(backend, name)
            except (VVLLMError, ValueError):
                continue
            demo = bool(demo_endpoint_ids) and all(e.id in demo_endpoint_ids for e in resolved.endpoints)
            options.append(
                ModelOption(
                    backend=backend.value,
                    name=name,
                    demo=demo,
                    configured=bool(configured and name in configured.models),
                    reasoning=bool(resolved.setting.reasoning),
                    description=describe(name) if (demo and describe) else None,
                )
            )
    rank = {name: i for i, name in enumerate(demo_order)}
    options.sort(key=lambda o: (o.demo, rank.get(o.name, len(rank)) if o.demo else 0, not o.configured))
    _cache.clear()
    _cache[key] = options
    return options


def availability(options: Sequence[ModelOption]) -> str:
    """``"42 models: 1 from your settings, 35 from the openai catalogue, 6 demo"`` for the picker."""
    real = [o for o in options if not o.demo]
    configured = sum(1 for o in real if o.configured)
    catalogue = [o for o in real if not o.configured]
    backends = sorted({o.backend for o in catalogue})
    parts = []
    if configured:
        parts.append(f"{configured} from your settings")
    if catalogue:
        named = ", ".join(backends[:3]) + (f" and {len(backends) - 3} more" if len(backends) > 3 else "")
        parts.append(f"{len(catalogue)} from the built-in catalogue ({named})")
    demo = len(options) - len(real)
    if demo:
        parts.append(f"{demo} demo")
    return f"{len(options)} model(s) available: " + ", ".join(parts) if parts else "No model available"


def first_real_model(options: Sequence[ModelOption]) -> str | None:
    """The model a user who just added an endpoint most likely wants: the first one listed in their
    settings, else the default model of the first backend they gave an endpoint."""
    real = [o for o in options if not o.demo]
    if not real:
        return None
    listed = next((o for o in real if o.configured), None)
    if listed is not None:
        return listed.ref
    refs = {o.ref for o in real}
    try:
        default = f"{real[0].backend}/{settings.default_model(real[0].backend)}"
    except (VVLLMError, ValueError):
        default = ""
    return default if default in refs else real[0].ref


def initial_selection(options: Sequence[ModelOption], current: Sequence[str] | None, *, had_real: bool) -> list[str] | None:
    """The picker's selection to set, or None to keep ``current``.

    First visit: the first real model when there is one, else three demo models. When real models
    appear in a session that had only demo ones (the first endpoint was just saved), a selection of
    demo models only is replaced by the first real model.
    """
    first = first_real_model(options)
    if current is None:
        return [first] if first else [o.ref for o in options if o.demo][:3]
    demo_refs = {o.ref for o in options if o.demo}
    if first and not had_real and all(ref in demo_refs for ref in current):
        return [first]
    return None
