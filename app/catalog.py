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
        return f"{self.name} · {self.backend}" + (" · demo" if self.demo else "")


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
    """Every model with at least one enabled endpoint: demo models first (in ``demo_order``), then
    configured ones, then the built-in catalogue's."""
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
    options.sort(key=lambda o: (not o.demo, rank.get(o.name, len(rank)) if o.demo else 0, not o.configured))
    _cache.clear()
    _cache[key] = options
    return options
