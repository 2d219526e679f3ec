"""The README's self-contained examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_testing_example_runs(fake_settings):
    (example,) = [b for b in python_blocks() if "FakeLLMServer()" in b]
    exec(compile(example, "README.md", "exec"), {})


def test_the_token_example_gives_the_count_it_shows():
    from vv_llm.chat_clients import get_token_counts

    (block,) = [b for b in python_blocks() if "get_token_counts(" in b and "#" in b]
    line = next(line for line in block.splitlines() if line.startswith("get_token_counts("))
    shown = int(re.search(r"# (\d+)", line).group(1))  # type: ignore[union-attr]
    assert get_token_counts("用一句话解释 RAG", "gpt-4o") == shown
