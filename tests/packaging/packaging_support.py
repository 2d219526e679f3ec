"""Helpers for the packaging tests: offline pip, fresh venvs with the installed wheel.

Everything installs with ``--no-index`` from ``.venv/wheelhouse``, which ``scripts/setup`` fills
(``pip download`` of the package's dependencies, every extra, setuptools and build); pip's own
configuration (a user's index or find-links) is ignored so the test sees what a user's install sees.
Each venv is made without pip (the dev venv's pip installs into it with ``--python``) and without
byte-compiling, which keeps one venv per extra to seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(os.environ.get("VV_LLM_WHEELHOUSE") or ROOT / ".venv" / "wheelhouse")
SOURCE_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "test-artifacts", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", ".vv_llm_rate_limit"
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without our PYTHONPATH (it would import the checkout) or pip configuration."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("PIP_", "VV_LLM_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra)
    return env


def pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The dev venv's pip acting on the venv of ``python``, offline."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(),
        check=False,
    )


@dataclass
class Venv:
    root: Path
    workdir: Path
    """A folder outside the checkout to run in, so ``import vv_llm`` finds the installed wheel."""

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def install(self, *requirements: str) -> None:
        done = pip(self.python, "install", "--no-index", "--find-links", str(WHEELHOUSE), "--no-compile", *requirements)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    def run(self, code: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), "-c", code],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_env(**env),
            check=False,
        )

    def check(self, code: str, **env: str) -> str:
        """Run ``code``; it must succeed; its standard output."""
        done = self.run(code, **env)
        assert done.returncode == 0, done.stderr[-4000:]
        return done.stdout


def make_venv(path: Path) -> Venv:
    venv.EnvBuilder(with_pip=False).create(path)
    work = path.parent / f"{path.name}-work"
    work.mkdir()
    return Venv(path, work)


@dataclass
class Built:
    sdist: Path
    wheel: Path
