"""The built-in model catalogue (``catalogue.json``): default API bases, models, limits and prices."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

CATALOGUE_PATH = Path(__file__).with_name("catalogue.json")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Any]:
    """The parsed catalogue (read once)."""
    with CATALOGUE_PATH.open(encoding="utf-8") as f:
        return json.load(f)


def backend_entry(backend: str) -> dict[str, Any]:
    return catalogue()["backends"].get(backend, {"models": {}})


def default_api_base(backend: str) -> str | None:
    return backend_entry(backend).get("api_base")


def catalogue_model(backend: str, model: str) -> dict[str, Any] | None:
    return backend_entry(backend)["models"].get(model)


def catalogue_checked() -> str:
    """The date the catalogue's models and prices were last checked."""
    return catalogue()["checked"]
