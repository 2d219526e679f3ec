from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_cluster import fresh_database, running_cluster

pytest_plugins = ["vv_llm.testing.pytest_plugin"]

LIVE = Path(__file__).with_name("live")


def _live_selected(config: pytest.Config) -> bool:
    expression = config.getoption("markexpr") or ""
    return "live" in expression and "not live" not in expression


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/live reaches real providers: collected only when asked for with ``-m live``."""
    if collection_path == LIVE and not _live_selected(config):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Even named on the command line, live tests run only with ``-m live``."""
    if _live_selected(config):
        return
    live = [item for item in items if item.get_closest_marker("live")]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if not item.get_closest_marker("live")]


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server of our own on a free loopback port (no persistence) → its URL."""
    import redis

    from vv_llm.testing import unused_port

    port = unused_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with status {process.returncode}") from None
                time.sleep(0.025)
        else:
            raise RuntimeError("redis-server did not start")
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's redis-server, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster of our own on a free loopback port → its server URL."""
    with running_cluster() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL cluster (SQLAlchemy URL, psycopg 3)."""
    with fresh_database(postgres_server) as url:
        yield url
