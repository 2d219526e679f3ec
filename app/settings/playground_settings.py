"""The settings the playground runs on: the user's file, plus the demo models in demo mode.

One instance per process (the engine's ``settings`` is process-wide). Saving from the editor goes
through here, so the engine always runs on what the file says.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.settings.file import EMPTY, LoadedSettings, has_usable_endpoint, read_settings, secret_values, write_settings
from app.settings.scrub import Scrubber
from vv_llm.errors import SettingsError
from vv_llm.settings import settings
from vv_llm.testing.demo import DemoBackend


def with_demo(user: dict[str, Any], demo: dict[str, Any]) -> dict[str, Any]:
    """``user`` settings with the demo endpoints and models added (the user's own win on a clash)."""
    out = copy.deepcopy(user)
    out["VERSION"] = "2"
    taken = {e.get("id") for e in out.get("endpoints") or [] if isinstance(e, dict)}
    out["endpoints"] = list(out.get("endpoints") or []) + [e for e in demo["endpoints"] if e["id"] not in taken]
    backends = out.setdefault("backends", {})
    for name, backend in demo["backends"].items():
        models = backends.setdefault(name, {}).setdefault("models", {})
        for model_name, model in backend["models"].items():
            models.setdefault(model_name, model)
    return out


class PlaygroundSettings:
    """Keeps ``vv_llm.settings.settings`` loaded with the file's settings (plus demo models)."""

    def __init__(self, path: Path, *, demo_mode: str = "auto", start_demo: Callable[[], DemoBackend] | None = None):
        self.path = path
        self.demo_mode = demo_mode
        self._start_demo = start_demo
        self._demo: DemoBackend | None = None
        self._lock = threading.RLock()
        self._generation: int | None = None
        self._mtime: int | None = None
        self._scrubber: tuple[LoadedSettings, Scrubber] | None = None
        self.loaded: LoadedSettings = read_settings(path)
        self._mtime = self._file_mtime()

    # -- what is loaded ------------------------------------------------------------------
    @property
    def user_data(self) -> dict[str, Any]:
        """The user's settings (with secrets): never send this to the browser."""
        return self.loaded.data

    @property
    def demo_active(self) -> bool:
        """Whether the demo models are offered: always, unless ``VV_LLM_DEMO=off``.

        With real endpoints they stay selectable next to the real models (listed after them,
        labelled *demo*), so trying one never needs a restart.
        """
        return self.demo_mode != "off" and self._start_demo is not None

    @property
    def has_real_endpoint(self) -> bool:
        """Whether the saved settings are valid and give a real provider a way in (a key, cloud credentials, a local server)."""
        return self.loaded.valid and has_usable_endpoint(self.loaded.data)

    @property
    def demo_only(self) -> bool:
        """Only the demo models can run (no real endpoint yet, or the settings file has problems)."""
        return self.demo_active and not self.has_real_endpoint

    @property
    def demo(self) -> DemoBackend | None:
        return self._demo if self.demo_active else None

    @property
    def demo_endpoint_ids(self) -> set[str]:
        demo = self.demo
        return demo.endpoint_ids if demo else set()

    def secrets(self) -> list[str]:
        """Every secret in the user's settings (for scrubbing stored and exported text)."""
        return secret_values(self.loaded.data)

    def scrub(self, text: str | None) -> str | None:
        """``text`` without any secret of the current settings."""
        loaded = self.loaded
        if self._scrubber is None or self._scrubber[0] is not loaded:
            self._scrubber = (loaded, Scrubber(secret_values(loaded.data)))
        return self._scrubber[1](text)

    def effective(self) -> dict[str, Any]:
        user = self.loaded.data if self.loaded.valid else dict(EMPTY)
        if not self.demo_active:
            return copy.deepcopy(user)
        if self._demo is None:
            assert self._start_demo is not None
            self._demo = self._start_demo()
        return with_demo(user, self._demo.settings_dict())

    # -- keeping the engine in step ------------------------------------------------------
    def _file_mtime(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def ensure_applied(self) -> None:
        """Load the engine's settings if they are not ours (or the file changed on disk)."""
        with self._lock:
            mtime = self._file_mtime()
            if mtime != self._mtime:
                self.loaded = read_settings(self.path)
                self._mtime = mtime
                self._generation = None
            if self._generation is None or settings.generation != self._generation or not settings.is_loaded:
                self.apply()

    def apply(self) -> None:
        with self._lock:
            try:
                settings.load(self.effective())
            except SettingsError:
                # Only reachable if demo and user settings clash in a way validation rejects.
                settings.load(dict(EMPTY))
            self._generation = settings.generation

    def save(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validate and write ``data`` to the file, then run on it. Raises ``SettingsError`` (nothing written)."""
        with self._lock:
            normalized = write_settings(self.path, data)
            self.loaded = LoadedSettings(self.path, normalized, exists=True)
            self._mtime = self._file_mtime()
            self.apply()
            return normalized
