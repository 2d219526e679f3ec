"""Token counting: vv-llm's ``get_token_counts`` against calling tiktoken directly (measured, never asserted).

Target: counting 1 MB of text costs at most 1.1× ``len(encoding.encode_ordinary(text))`` on the
same tiktoken encoding. Also shows first-use load times and the other tokenizers' speed.

    .venv/bin/python -m benchmarks.bench_tokens [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vv_llm.utilities.tokens import get_message_token_counts, get_token_counts  # noqa: E402
from vv_llm.utilities.tokens.encodings import get_encoding  # noqa: E402

SAMPLE = (
    "Retrieval-augmented generation (RAG) combines a retriever with a generator. "
    "检索增强生成把检索器和生成模型结合起来，先找到相关文档再回答。 "
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
    "Emoji too: 🤖🧠✨ 👨‍👩‍👧‍👦 and numbers 3.14159, 2024-01-01.\n"
)
TARGET = 1.10


def megabyte() -> str:
    text = SAMPLE * (1_000_000 // len(SAMPLE.encode()) + 1)
    return text.encode()[:1_000_000].decode("utf-8", "ignore")


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def first_use(statement: str) -> float:
    """Seconds for ``statement`` in a fresh interpreter (tokenizer load included)."""
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    text = megabyte()
    rows = []
    for model, encoding_name in (("gpt-4o", "o200k_base"), ("gpt-4", "cl100k_base")):
        encoding = get_encoding(encoding_name)
        assert get_token_counts(text, model) == len(encoding.encode_ordinary(text))  # warm, and the same count
        # Interleaved rounds, best of each: both sides see the same machine noise.
        direct_times, ours_times = [], []
        for _ in range(args.repeat):
            direct_times.append(best(lambda enc=encoding: len(enc.encode_ordinary(text)), 1))
            ours_times.append(best(lambda m=model: get_token_counts(text, m), 1))
        direct, ours = min(direct_times), min(ours_times)
        rows.append(
            {"model": model, "encoding": encoding_name, "tiktoken_ms": direct * 1e3, "vv_llm_ms": ours * 1e3, "ratio": ours / direct}
        )

    small = "Hello, how are you today?"
    per_call = best(lambda: [get_token_counts(small, "gpt-4o") for _ in range(10_000)], 3) / 10_000
    o200k = get_encoding("o200k_base")
    direct_small = best(lambda: [len(o200k.encode_ordinary(small)) for _ in range(10_000)], 3) / 10_000
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": SAMPLE * 4}]
    message_call = best(lambda: [get_message_token_counts(messages, model="gpt-4o") for _ in range(1_000)], 3) / 1_000

    others = {}
    chunk = text[:100_000]
    for model in ("deepseek-chat", "qwen-plus", "claude-sonnet-4-5"):
        get_token_counts("warm up", model)
        others[model] = len(chunk.encode()) / best(lambda m=model: get_token_counts(chunk, m), 3) / 1e6

    loads = {
        "import vv_llm.utilities.tokens": first_use("import vv_llm.utilities.tokens"),
        "first count, gpt-4o (o200k_base)": first_use(
            "from vv_llm.utilities.tokens import get_token_counts; get_token_counts('x', 'gpt-4o')"
        ),
        "first count, gpt-4 (cl100k_base)": first_use(
            "from vv_llm.utilities.tokens import get_token_counts; get_token_counts('x', 'gpt-4')"
        ),
        "first count, deepseek-chat": first_use(
            "from vv_llm.utilities.tokens import get_token_counts; get_token_counts('x', 'deepseek-chat')"
        ),
        "first count, qwen-plus": first_use("from vv_llm.utilities.tokens import get_token_counts; get_token_counts('x', 'qwen-plus')"),
    }

    if args.json:
        print(
            json.dumps(
                {
                    "megabyte": rows,
                    "small_us": per_call * 1e6,
                    "small_direct_us": direct_small * 1e6,
                    "message_us": message_call * 1e6,
                    "mb_per_s": others,
                    "first_use_s": loads,
                },
                indent=2,
            )
        )
        return 0
    print(f"Counting 1 MB of mixed English/Chinese/code/emoji text, best of {args.repeat} (target ≤ {TARGET:.2f}× tiktoken):\n")
    print("| model | encoding | tiktoken direct | get_token_counts | ratio | target |")
    print("|---|---|---:|---:|---:|---|")
    for row in rows:
        met = "met" if row["ratio"] <= TARGET else "**NOT MET**"
        print(
            f"| {row['model']} | {row['encoding']} | {row['tiktoken_ms']:.1f} ms | {row['vv_llm_ms']:.1f} ms | {row['ratio']:.3f}× | {met} |"
        )
    print(f"\nA 6-token text: {per_call * 1e6:.2f} µs a call (tiktoken direct {direct_small * 1e6:.2f} µs).")
    print(f"A two-message request (~{len(SAMPLE) * 4} chars): {message_call * 1e6:.1f} µs for get_message_token_counts.")
    print("\n| other tokenizers (100 kB) | MB/s |\n|---|---:|")
    for model, rate in others.items():
        print(f"| {model} | {rate:.2f} |")
    print("\n| first use (fresh interpreter) | seconds |\n|---|---:|")
    for what, seconds in loads.items():
        print(f"| {what} | {seconds:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
