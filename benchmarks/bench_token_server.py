"""Token server memory: peak memory of counting one maximal request body, as a multiple of its size.

The server (``python -m vv_llm.server``) runs in its own process; after a warm-up request (which
loads the tokenizer) its peak RSS (``VmHWM``) is read, then one request with a maximal body is
sent, the text in ``/v1/tokens/text`` or as one message in ``/v1/tokens/messages``, and the peak
read again: the server's size limit (4 MiB), or the longest
text the schema allows (4,000,000 characters) when that comes first (ASCII). Texts: English and
code (1 byte a character), English with Chinese (a ``str`` of it takes 2 bytes a character, more
than its UTF-8), English and code with an emoji now and then (a ``str`` of it takes 4 bytes a
character: the server never builds one, it counts the text from the body's bytes a piece at a
time), Chinese (no spaces: cut at punctuation), and the emoji text again with every non-ASCII
character sent as a ``\\u`` escape (``json.dumps``' default: an emoji is a surrogate pair).
Budget: for every kind of text, model and endpoint, the growth stays under 4× the body. Measured,
never asserted. (The server counts the request's longest text from the body's bytes a piece at
a time, never building it as one ``str``: see ``vv_llm/server/json_text.py``.)

    .venv/bin/python -m benchmarks.bench_token_server [--mib 4] [--endpoints text messages] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from vv_llm.server.limits import DEFAULT_MAX_BODY_BYTES
from vv_llm.server.schemas import MAX_TEXT_CHARS

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 4.0
DEFAULT_LIMIT_MIB = DEFAULT_MAX_BODY_BYTES / 2**20
"""The token server's request-size limit (4 MiB)."""

EMOJI_ESCAPED = "English and code with emoji, sent \\u-escaped"
TEXTS = {
    "English and code (ASCII)": (
        "Retrieval-augmented generation (RAG) combines a retriever with a generator. "
        "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
    ),
    "English and Chinese": (
        "Retrieval-augmented generation (RAG) combines a retriever with a generator. "
        "检索增强生成把检索器和生成模型结合起来，先找到相关文档再回答。\n"
    ),
    "English and code with emoji": (
        "Retrieval-augmented generation (RAG) combines a retriever with a generator. 🙂 "
        "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
    ),
    "Chinese": (
        "检索增强生成把检索器和生成模型结合起来，先找到相关文档，再根据文档回答问题。"
        "它的好处是：答案有出处、知识可以随时更新；缺点是检索质量决定了上限。\n"
    ),
}
TEXTS[EMOJI_ESCAPED] = TEXTS["English and code with emoji"]
ESCAPED = {EMOJI_ESCAPED}
"""Kinds sent with every non-ASCII character as a JSON ``\\u`` escape."""
MODELS = ("gpt-4o", "qwen-plus")
ENDPOINTS = ("text", "messages")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def request_of(endpoint: str, model: str, text: str) -> dict[str, Any]:
    """A ``/v1/tokens/{endpoint}`` request counting ``text`` (for messages: one user message)."""
    if endpoint == "messages":
        return {"model": model, "messages": [{"role": "user", "content": text}]}
    return {"model": model, "text": text}


def body_of(text: str, model: str, size: int, escaped: bool = False, endpoint: str = "text") -> bytes:
    """The largest ``/v1/tokens/{endpoint}`` JSON body of at most ``size`` bytes whose text
    (``text`` repeated) stays within the schema's ``MAX_TEXT_CHARS``; padded with spaces to
    ``size`` when the bytes, not the characters, are the limit. ``escaped``: every non-ASCII
    character sent as a ``\\u`` escape (an emoji as a surrogate pair), as ``json.dumps`` does by default."""
    head = json.dumps(request_of(endpoint, model, ""), ensure_ascii=escaped).encode()
    room = size - len(head)
    repeated = (text * (room // len(text.encode()) + 1)).encode()[:room].decode("utf-8", "ignore")[:MAX_TEXT_CHARS]
    payload = json.dumps(request_of(endpoint, model, repeated), ensure_ascii=escaped).encode()
    while len(payload) > size:  # escapes (newlines, \\u) grew it: trim
        repeated = repeated[: -(len(payload) - size)]
        payload = json.dumps(request_of(endpoint, model, repeated), ensure_ascii=escaped).encode()
    if len(repeated) == MAX_TEXT_CHARS:
        return payload
    return payload + b" " * (size - len(payload))


def measure(text: str, model: str, size: int, escaped: bool = False, endpoint: str = "text") -> dict[str, float]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "vv_llm.server", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=120) as client:
            for _ in range(200):
                try:
                    client.get(f"{url}/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            warm = client.post(f"{url}/v1/tokens/{endpoint}", json=request_of(endpoint, model, text * 100))
            warm.raise_for_status()
            before = _peak_kib(server.pid)
            body = body_of(text, model, size, escaped, endpoint)
            start = time.perf_counter()
            answer = client.post(f"{url}/v1/tokens/{endpoint}", content=body, headers={"content-type": "application/json"})
            seconds = time.perf_counter() - start
            answer.raise_for_status()
            after = _peak_kib(server.pid)
        return {
            "body_mib": len(body) / 2**20,
            "tokens": answer.json()["tokens"],
            "peak_growth_mib": (after - before) / 1024,
            "ratio": (after - before) * 1024 / len(body),
            "seconds": seconds,
        }
    finally:
        server.terminate()
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=DEFAULT_LIMIT_MIB, help="body size (the server's limit)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help=f"models to count for (default: {' '.join(MODELS)})")
    parser.add_argument(
        "--endpoints", nargs="+", default=list(ENDPOINTS), choices=ENDPOINTS, help="the text in /v1/tokens/text, or as one message"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = int(args.mib * 2**20)
    rows = []
    for endpoint in args.endpoints:
        for model in args.models:
            for name, text in TEXTS.items():
                rows.append({"endpoint": endpoint, "model": model, "text": name, **measure(text, model, size, name in ESCAPED, endpoint)})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"Peak memory of one request with a maximal body ({args.mib:g} MiB limit, {MAX_TEXT_CHARS:,} characters), ")
    print(f"server process's VmHWM growth after a warm-up request; budget < {BUDGET:g}× the body:\n")
    print("| endpoint | model | text | body | tokens | peak growth | × body | counted in | budget |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        status = "met" if r["ratio"] < BUDGET else "not met"
        print(
            f"| /v1/tokens/{r['endpoint']} | {r['model']} | {r['text']} | {r['body_mib']:.2f} MiB | {r['tokens']:,} "
            f"| {r['peak_growth_mib']:.1f} MiB | {r['ratio']:.2f}× | {r['seconds']:.2f} s | < {BUDGET:g}× {status} |"
        )
    print()
    for endpoint in args.endpoints:
        for name in TEXTS:
            kind = [r for r in rows if r["text"] == name and r["endpoint"] == endpoint]
            ratios = ", ".join(f"{r['ratio']:.2f}× ({r['model']})" for r in kind)
            met = all(r["ratio"] < BUDGET for r in kind)
            print(f"Budget: /v1/tokens/{endpoint}, {name}: peak growth {ratios} the body; < {BUDGET:g}× {'met' if met else 'NOT MET'}")
    for endpoint in args.endpoints:
        kind = [r for r in rows if r["endpoint"] == endpoint]
        worst = max(kind, key=lambda r: r["ratio"])
        every = all(r["ratio"] < BUDGET for r in kind)
        print(
            f"Budget: /v1/tokens/{endpoint}, every kind of text ({len(TEXTS)} kinds × {len(args.models)} models) < {BUDGET:g}× the body: "
            f"{'met' if every else 'NOT MET'} (worst {worst['ratio']:.2f}×, {worst['text']}, {worst['model']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
