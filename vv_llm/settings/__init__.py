"""Settings: ``from vv_llm.settings import settings; settings.load({...})``."""

from vv_llm.settings.store import SETTINGS_ENV_VAR, ResolvedEndpoint, ResolvedModel, Settings

settings = Settings()
"""The process-wide settings every client reads."""

__all__ = ["SETTINGS_ENV_VAR", "ResolvedEndpoint", "ResolvedModel", "Settings", "settings"]


def __getattr__(name: str) -> object:
    # `from vv_llm import settings` can hand out this module instead of the object (the import
    # system binds the submodule on the package); forward so `settings.load(...)` works either way.
    return getattr(settings, name)
