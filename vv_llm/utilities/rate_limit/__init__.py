"""RPM/TPM/concurrency limits around every call (see ``gate_for``)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vv_llm.settings.schema import SettingsModel


class NoLimits:
    """The gate when no limit is configured anywhere: costs nothing per call."""

    def acquire(self, endpoint: Any, call: Any) -> Generator[Any, Any, None]:
        return None
        yield  # pragma: no cover - makes this a generator

    def settle(self, ticket: Any, usage: Any) -> None:
        pass

    def release(self, ticket: Any) -> None:
        pass


def gate_for(settings: SettingsModel) -> Any:
    """The rate-limit gate for these settings."""
    return NoLimits()
