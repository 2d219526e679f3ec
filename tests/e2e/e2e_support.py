"""Starting and stopping the playground for browser tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = ROOT / "docs" / "screenshots"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Playground:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


_DEFERRED_DOWNLOAD_RACE = re.compile(
    r"[^\n]*Error executing deferred callable for file_id (\w+)\n.*?MediaFileStorageError: Deferred file \1 not found\n", re.S
)
"""Streamlit's own log of a download button clicked as a rerun replaced it (the file it would have
made is gone; the browser gets no download, and a second click works). A test that clicks while
the machine is too busy for :func:`settle` to see the rerun coming can cause it."""


def app_log(playground: Playground) -> str:
    """The playground's log without Streamlit's own download-race records (:data:`_DEFERRED_DOWNLOAD_RACE`)."""
    return _DEFERRED_DOWNLOAD_RACE.sub("", playground.log_text())


def start_playground(data_dir: Path, *, home: Path | None = None, **env: str) -> Playground:
    """``streamlit run streamlit_app.py`` with its own data folder (or, given ``home``, the default
    ``~/.local/share/vv-llm`` under that home); waits until it answers."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"streamlit-{port}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VV_LLM_") and k != "XDG_DATA_HOME"}
    if home is None:
        environment["VV_LLM_DATA_DIR"] = str(data_dir)
    else:
        environment["HOME"] = str(home)
    environment.update({"PYTHONUNBUFFERED": "1", **env})
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "streamlit_app.py", "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return Playground(url, data_dir, log, process)
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"streamlit did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def stop_playground(playground: Playground) -> None:
    playground.process.terminate()
    try:
        playground.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        playground.process.kill()
        playground.process.wait()
