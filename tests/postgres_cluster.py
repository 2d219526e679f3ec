"""A throwaway PostgreSQL cluster for the tests: ``initdb`` + ``pg_ctl`` on a free loopback port.

The Debian ``postgresql`` package (``bash scripts/setup --system`` installs it) puts the server
binaries in ``/usr/lib/postgresql/<version>/bin``. ``initdb`` refuses to run as root, so as root
the cluster belongs to the ``postgres`` user the package creates. Each test gets a database of its own.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "postgres"
SUPERUSER = "vvllm"


def server_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: on PATH, else the newest Debian version directory."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0]))
    return Path(versions[-1]).parent if versions else None


@contextmanager
def running_cluster() -> Iterator[str]:
    """Start a cluster, yield its server URL (``postgresql+psycopg://vvllm@127.0.0.1:PORT``), stop it."""
    from vv_llm.testing import unused_port

    bindir = server_bindir()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: `bash scripts/setup --system` installs Debian's postgresql"
        )
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="vv-llm-pg-"))
    if as_root:
        try:
            owner = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise RuntimeError(
                f"initdb refuses root and there is no {SERVER_USER!r} user to run it (Debian's postgresql creates one)"
            ) from None
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", SERVER_USER, "--"]
    data = workdir / "data"
    port = unused_port()

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = workdir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
        options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(workdir / "server.log"), "-w", "-t", "60", "start")
        try:
            yield f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new empty database on the cluster → its URL; dropped afterwards (open connections closed)."""
    import psycopg

    name = f"vvllm_{uuid.uuid4().hex[:12]}"
    admin = server_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
