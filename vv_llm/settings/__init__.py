"""Settings: ``from vv_llm.settings import settings; settings.load({...})``."""

from vv_llm.settings.store import SETTINGS_ENV_VAR, ResolvedEndpoint, ResolvedModel, Settings

settings = Settings()
"""The process-wide settings every client reads."""

__all__ = ["SETTINGS_ENV_VAR", "ResolvedEndpoint", "ResolvedModel", "Settings", "settings"]
