"""Fixtures for the packaging tests: the sdist and wheel built offline, and fresh venvs with the wheel."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging_support import ROOT, SOURCE_IGNORE, WHEELHOUSE, Built, Venv, clean_env, make_venv


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The sdist and the wheel, built as ``python -m build`` does (wheel from the sdist), offline."""
    if not (WHEELHOUSE / ".stamp").exists():
        pytest.fail(f"no wheelhouse at {WHEELHOUSE}: `bash scripts/setup` downloads what the packaging tests install offline")
    base = tmp_path_factory.mktemp("build")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=SOURCE_IGNORE, symlinks=True)
    builder = make_venv(base / "builder")
    builder.install("setuptools", "build")
    out = base / "dist"
    done = subprocess.run(
        [str(builder.python), "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,) = out.glob("vv_llm-*.tar.gz")
    (wheel,) = out.glob("vv_llm-*.whl")
    return Built(sdist, wheel)


@pytest.fixture(scope="session")
def venv_with(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Venv]:
    """``venv_with("redis")`` → a fresh venv with the wheel and those extras (none: the bare package)."""
    made: dict[tuple[str, ...], Venv] = {}

    def make(*extras: str) -> Venv:
        if extras not in made:
            env = make_venv(tmp_path_factory.mktemp("venv") / ("-".join(extras) or "bare"))
            env.install(f"{built.wheel}[{','.join(extras)}]" if extras else str(built.wheel))
            made[extras] = env
        return made[extras]

    return make


@pytest.fixture(scope="session")
def playground_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The playground's files (streamlit_app.py, app/, .streamlit/) as a user's checkout has them, without vv_llm/."""
    checkout = tmp_path_factory.mktemp("checkout")
    shutil.copy2(ROOT / "streamlit_app.py", checkout / "streamlit_app.py")
    for name in ("app", ".streamlit"):
        shutil.copytree(ROOT / name, checkout / name, ignore=SOURCE_IGNORE)
    return checkout
