"""Synthetic history of demo-model runs spread over past days (dashboard tests and screenshots)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from app.history.models import Run, RunMessage, RunResult
from app.history.store import HistoryStore

_MODELS = [
    # backend, model, median TTFT (s), output tokens/s, price in, price out (USD / 1M), error share
    ("local", "demo-fast", 0.2, 110.0, 0.5, 1.5, 0.0),
    ("local", "demo-thinker", 0.45, 80.0, 0.5, 1.5, 0.03),
    ("local", "demo-tools", 0.3, 60.0, 0.5, 1.5, 0.0),
    ("local", "demo-slow", 1.1, 30.0, 0.5, 1.5, 0.08),
    ("anthropic", "demo-messages", 0.35, 70.0, 0.5, 1.5, 0.02),
]
_PROMPTS = [
    "Explain retrieval-augmented generation in three sentences.",
    "Write a haiku about rate limits.",
    "Summarise the trade-offs of SSE versus WebSockets.",
    "What is the capital of Australia? Answer in one word.",
    "Draft a polite reply declining a meeting.",
    "Translate 'good morning' into French, German and Japanese.",
]


def seed_demo_history(
    store: HistoryStore, *, days: int = 14, seed: int = 7, now: datetime | None = None, runs_per_day: tuple[int, int] = (1, 5)
) -> int:
    """Write runs of 3 demo models each for the last ``days`` days (``runs_per_day`` is the range
    of runs a day); returns how many runs. Rows go in bulk, a few thousand runs at a time, so a
    benchmark can write 100,000 runs in about a minute."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    count = 0
    runs: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    with store.session() as s:
        next_id = int(s.execute(select(func.coalesce(func.max(RunResult.id), 0))).scalar_one()) + 1  # type: ignore[arg-type]

        def write() -> None:
            for model, rows in ((Run, runs), (RunResult, results), (RunMessage, messages)):
                if rows:
                    s.execute(insert(model), rows)  # type: ignore[call-overload]
                rows.clear()

        for day in range(days, -1, -1):
            for _ in range(rng.randint(*runs_per_day)):
                created = now - timedelta(days=day, minutes=rng.randint(0, 600))
                prompt = rng.choice(_PROMPTS)
                run_id = uuid.uuid4().hex  # unique even when the same seed writes twice into one database
                statuses = []
                for position, (backend, model, ttft, speed, p_in, p_out, error_share) in enumerate(rng.sample(_MODELS, 3)):
                    failed = rng.random() < error_share
                    prompt_tokens = rng.randint(20, 400)
                    completion = 0 if failed else rng.randint(60, 700)
                    cached = rng.choice([0, 0, 0, 64, 128]) if prompt_tokens > 150 else 0
                    first = max(0.05, rng.gauss(ttft, ttft * 0.25))
                    total = None if failed else first + completion / max(5.0, rng.gauss(speed, speed * 0.15))
                    status = "error" if failed else "done"
                    statuses.append(status)
                    results.append(
                        {
                            "id": next_id,
                            "run_id": run_id,
                            "position": position,
                            "backend": backend,
                            "model": model,
                            "endpoint_id": "vv-llm-demo-anthropic" if backend == "anthropic" else "vv-llm-demo",
                            "status": status,
                            "content": "" if failed else f"(demo answer from {model})",
                            "reasoning": None,
                            "tool_calls": None,
                            "finish_reason": None if failed else "stop",
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion,
                            "cached_tokens": cached,
                            "reasoning_tokens": None,
                            "cost_usd": None
                            if failed
                            else ((prompt_tokens - cached) * p_in + cached * p_in / 10 + completion * p_out) / 1_000_000,
                            "usage_estimated": False,
                            "ttft_s": None if failed else first,
                            "total_s": total,
                            "error_type": "ServerError" if failed else None,
                            "error_message": "simulated overload (demo data)" if failed else None,
                            "parameters": "{}",
                            "started_at": created,
                            "finished_at": created + timedelta(seconds=total or 1),
                        }
                    )
                    messages.append(
                        {"result_id": next_id, "position": 0, "role": "user", "body": json.dumps({"role": "user", "content": prompt})}
                    )
                    next_id += 1
                runs.append(
                    {
                        "id": run_id,
                        "created_at": created,
                        "finished_at": created + timedelta(seconds=5),
                        "status": "done" if all(x == "done" for x in statuses) else "partial",
                        "title": prompt,
                        "user_prompt": prompt,
                        "system_prompt": None,
                        "image_count": 0,
                        "parameters": "{}",
                        "parent_id": None,
                        "owner": "",
                    }
                )
                count += 1
                if len(runs) >= 5000:
                    write()
        write()
        s.commit()
    return count
