"""Cold import time and peak memory, each sample in a fresh interpreter."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_TEMPLATE = """\
import resource, time
_t = time.perf_counter()
{statement}
_t = time.perf_counter() - _t
import json, sys
_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # VmHWM is this process's own peak; ru_maxrss can carry the spawning parent's (see README)
    with open("/proc/self/status") as _f:
        _peak = next(int(line.split()[1]) for line in _f if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps([_t, _peak, sorted(sys.modules)]))
"""

_FIRST_CALL = """\
from vv_llm import BackendType, create_chat_client
from vv_llm.settings import settings
settings.load({{"VERSION": "2", "endpoints": [{{"id": "e", "api_base": {api_base!r}, "api_key": "sk-bench"}}],
               "backends": {{"openai": {{"models": {{"gpt-4o": {{"endpoints": ["e"]}}}}}}}}}})
create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion([{{"role": "user", "content": "hi"}}])"""

STATEMENTS = {
    "python -c pass (baseline)": "pass",
    "import vv_llm": "import vv_llm",
    "import vv_llm.chat_clients": "import vv_llm.chat_clients",
    "import httpx (reference)": "import httpx",
}


@dataclass
class ImportResult:
    label: str
    seconds: list[float]
    max_rss_kb: list[int]
    modules: list[str]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def rss_mb(self) -> float:
        return statistics.median(self.max_rss_kb) / 1024


def sample(statement: str) -> tuple[float, int, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", _TEMPLATE.format(statement=statement)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{statement!r} failed in a fresh interpreter:\n{out.stderr}")
    seconds, rss, modules = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, rss, modules


def measure(runs: int = 9, first_call_base: str | None = None) -> list[ImportResult]:
    """Median of ``runs`` fresh interpreters per statement, statements interleaved."""
    statements = dict(STATEMENTS)
    if first_call_base:
        statements["import + settings.load + create client + first call"] = _FIRST_CALL.format(api_base=first_call_base)
    results = {label: ImportResult(label, [], [], []) for label in statements}
    for _ in range(runs):
        for label, statement in statements.items():
            seconds, rss, modules = sample(statement)
            result = results[label]
            result.seconds.append(seconds)
            result.max_rss_kb.append(rss)
            result.modules = modules
    return list(results.values())
