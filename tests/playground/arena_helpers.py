"""Stored comparisons to judge, written straight into a real SQLite history."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from app.history.judgments import Seat
from app.history.models import Run, RunMessage, RunResult
from app.history.store import HistoryStore


def stored_run(
    store: HistoryStore,
    models: Sequence[str],
    prompt: str = "Which is better?",
    answers: Sequence[str] | None = None,
    created_at: datetime | None = None,
) -> tuple[str, list[Seat]]:
    """A finished run of ``models`` (one answer each) → its id and its seats in column order."""
    run_id = uuid.uuid4().hex
    seats = []
    with store.session() as s:
        s.add(Run(id=run_id, title=prompt, user_prompt=prompt, status="done", **({"created_at": created_at} if created_at else {})))
        s.flush()
        for position, model in enumerate(models):
            answer = answers[position] if answers else f"{model} says hi"
            result = RunResult(run_id=run_id, position=position, backend="local", model=model, status="done", content=answer)
            s.add(result)
            s.flush()
            assert result.id is not None
            user = {"role": "user", "content": prompt}
            s.add(RunMessage(result_id=result.id, position=0, role="user", body=json.dumps(user)))
            s.add(RunMessage(result_id=result.id, position=1, role="assistant", body=json.dumps({"role": "assistant", "content": answer})))
            seats.append(Seat(label=f"Model {'ABCDEF'[position]}", position=position, result_id=result.id, backend="local", model=model))
        s.commit()
    return run_id, seats
