"""One import direction: each vv_llm module imports only from its own layer or the layers below;
and vv_llm's own modules are imported at the top of a module, not inside functions.

The order, lowest first (a layer may use everything before it, nothing after it):

1. ``types``, ``errors`` — data shapes and exceptions, no behaviour to speak of;
2. ``settings`` — configuration, its schema, catalogue and store;
3. ``utilities`` — token counting, context fitting, rate-limit stores and gate, retry, media;
4. ``chat_clients`` — the engine: adapters, call plans, transports, the clients and factory;
5. ``pricing``, ``server``, ``testing`` — built on the layers below, used by none of them;
6. ``vv_llm`` itself — the package's lazy front door.

Every import counts: module level, inside functions (lazy imports) and under ``TYPE_CHECKING``
(annotations are a dependency too). Imports are read from the source with ``ast``, so a lazy
import that a test run never reaches is checked all the same.

Lazy imports are for heavy or optional third-party packages (redis, diskcache, boto3, google-auth,
fastapi, tokenizers, genai-prices, jsonschema, pydantic where a cheap path must not load it). An
import of a vv_llm module inside a function is allowed only where listed in ``LAZY_INTERNAL``, each
because that module is what loads such a package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "vv_llm"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("vv_llm.types", "vv_llm.errors"),
    ("vv_llm.settings",),
    ("vv_llm.utilities",),
    ("vv_llm.chat_clients",),
    ("vv_llm.pricing", "vv_llm.pricing_genai", "vv_llm.server", "vv_llm.testing"),
    ("vv_llm",),
)

ALLOWED_UPWARD = {
    ("vv_llm.server.app", "vv_llm"): "the package's __version__, for /health",
    ("vv_llm.utilities.tokens", "vv_llm.chat_clients.remote_tokens"):
        "the README's vv_llm.utilities.tokens.count_tokens_remote, resolved on first attribute access (its home is chat_clients)",
}  # fmt: skip
"""Known exceptions, each with its reason: (importing module, imported module) → why."""


LAZY_INTERNAL = {
    ("vv_llm.chat_clients.factory", "vv_llm.chat_clients.clients"):
        "the clients load the engine (httpx, pydantic); `import vv_llm.chat_clients` stays cheap",
    ("vv_llm.types", "vv_llm.types.messages"): "the response types are pydantic models, loaded on first use",
    ("vv_llm.types", "vv_llm.types.report"): "loaded with the response types",
    ("vv_llm.settings.store", "vv_llm.settings.schema"):
        "the schema is pydantic: `from vv_llm.settings import settings` loads it on the first load()",
    ("vv_llm.pricing", "vv_llm.settings.schema"): "the schema is pydantic: `import vv_llm.pricing` stays light",
    ("vv_llm.server", "vv_llm.server.app"): "the app needs FastAPI, an optional extra",
    ("vv_llm.server.__main__", "vv_llm.server.app"): "the app needs FastAPI, an optional extra (reported when missing)",
    ("vv_llm.utilities.tokens", "vv_llm.chat_clients.remote_tokens"): "see ALLOWED_UPWARD",
    ("vv_llm.testing.protocol", "vv_llm.testing.wires"): "the wires import the protocol base: listed on first use",
}  # fmt: skip
"""(module, vv_llm module it imports inside a function) → why that import is lazy."""

PENDING: tuple[str, ...] = ()
"""Packages whose lazy internal imports are not yet moved to module top (none left)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The index in LAYERS of the longest prefix that names ``module``'s package."""
    best, index = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, index = len(prefix), i
    if index < 0:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return index


def imported_modules(source: str, module: str, is_package: bool, *, in_functions: bool = False) -> list[tuple[str, int]]:
    """``(vv_llm module imported, line)`` for every import in ``source``, at any depth (or only
    those inside a function body)."""
    found = []
    tree = ast.parse(source)
    if in_functions:
        nodes = [n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)]
    else:
        nodes = list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from vv_llm.x import y` may import the submodule vv_llm.x.y: count the deeper one.
            found += [(f"{target}.{alias.name}" if (PACKAGE.parent / f"{target}.{alias.name}".replace(".", "/")).exists()
                       or (PACKAGE.parent / (f"{target}.{alias.name}".replace(".", "/") + ".py")).exists() else target, node.lineno)
                      for alias in node.names]  # fmt: skip
    return sorted({(name, line) for name, line in found if name == "vv_llm" or name.startswith("vv_llm.")}, key=lambda x: x[1])


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    own = layer_of(module)
    wrong = []
    for target, line in imported_modules(source, module, is_package):
        if layer_of(target) > own and (module, target) not in ALLOWED_UPWARD:
            wrong.append(f"{module}:{line} imports {target} (layer {layer_of(target) + 1} > {own + 1})")
    return wrong


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer_and_every_layer_has_modules() -> None:
    layers = {layer_of(module_name(path)) for path in MODULES}
    assert layers == set(range(len(LAYERS)))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_imports_point_down(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py") == []


def test_the_known_exceptions_still_exist() -> None:
    # An exception nobody needs any more is removed rather than left to excuse a new import.
    for module, target in ALLOWED_UPWARD:
        path = PACKAGE.parent / (module.replace(".", "/") + ".py")
        if not path.exists():
            path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
        imported = {name for name, _ in imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")}
        assert target in imported, (module, target)


def test_the_check_sees_an_upward_import() -> None:
    # Guards the test itself: lazy, TYPE_CHECKING and relative imports upward are all caught.
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from vv_llm.settings.store import Settings\n"
        "def f():\n    from vv_llm.chat_clients import engine\n"
        "from . import enums\n"
    )
    found = violations(source, "vv_llm.types.example")
    assert [v.split(" imports ")[1].split(" ")[0] for v in found] == ["vv_llm.settings.store", "vv_llm.chat_clients.engine"]
    assert violations("from vv_llm.types.enums import BackendType\n", "vv_llm.utilities.example") == []


def lazy_internal(source: str, module: str, is_package: bool = False) -> list[str]:
    return [
        f"{module}:{line} imports {target} inside a function"
        for target, line in imported_modules(source, module, is_package, in_functions=True)
        if (module, target) not in LAZY_INTERNAL
    ]


@pytest.mark.parametrize("path", [p for p in MODULES if not module_name(p).startswith(PENDING)], ids=lambda path: module_name(path))
def test_vv_llm_modules_are_imported_at_the_top(path: Path) -> None:
    assert lazy_internal(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py") == []


def test_each_listed_lazy_import_is_still_lazy() -> None:
    for module, target in LAZY_INTERNAL:
        path = PACKAGE.parent / (module.replace(".", "/") + ".py")
        if not path.exists():
            path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
        lazy = imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", in_functions=True)
        assert target in {name for name, _ in lazy}, (module, target)


def test_the_check_sees_a_lazy_internal_import() -> None:
    source = "import json\ndef f():\n    import redis\n    from vv_llm.utilities.tokens import get_token_counts\n"
    assert lazy_internal(source, "vv_llm.chat_clients.example") == [
        "vv_llm.chat_clients.example:4 imports vv_llm.utilities.tokens inside a function"
    ]
