"""scripts/setup and scripts/test report each step: what it does, how long it took; a quiet step's
output goes to a log file that is shown when the step fails."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
STEPS = ROOT / "scripts" / "steps.sh"


def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source {STEPS}; {script}"], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_quiet_and_loud_steps_say_what_they_do_and_how_long_it_took(tmp_path: Path) -> None:
    done = _bash('quiet_step "installing things" bash -c "echo pip says a lot"; loud_step "linting" echo lint-output', tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "==> installing things …"
    assert re.fullmatch(r"    done in \d+\.\d s \(log: test-artifacts/logs/installing-things\.log\)", lines[1])
    assert "pip says a lot" not in done.stdout  # quiet: it went to the log
    assert (tmp_path / "test-artifacts/logs/installing-things.log").read_text() == "pip says a lot\n"
    assert lines[2:4] == ["==> linting", "lint-output"] and re.fullmatch(r"    linting: ok in \d+\.\d s", lines[4])


def test_a_failing_quiet_step_shows_its_log_and_stops_the_script(tmp_path: Path) -> None:
    done = _bash(
        'quiet_step "downloading wheels" bash -c "echo fetched 3 of 9; echo ERROR: no such package >&2; exit 4"; echo not reached', tmp_path
    )
    assert done.returncode == 4 and "not reached" not in done.stdout
    assert re.search(
        r"!! downloading wheels failed after \d+\.\d s \(exit status 4\); the last 60 lines of \S+downloading-wheels\.log:", done.stderr
    )
    assert "fetched 3 of 9" in done.stderr and "ERROR: no such package" in done.stderr


def test_setup_and_test_use_the_steps() -> None:
    for name in ("setup", "test", "test-live"):
        text = (ROOT / "scripts" / name).read_text()
        assert "source scripts/steps.sh" in text and ("quiet_step" in text or "loud_step" in text), name
    setup = (ROOT / "scripts" / "setup").read_text()
    for slow in ("pip install", "pip download", "apt-get update", "apt-get install"):
        line = next(line for line in setup.splitlines() if slow in line and not line.lstrip().startswith("#"))
        step = setup[: setup.index(line) + len(line)].rsplit("\n", 3)
        assert any("quiet_step" in part for part in step), slow  # every slow command runs as a logged step
