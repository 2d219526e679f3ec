"""Exports of judgments: preference pairs as JSONL (the DPO / reward-model shape) and ratings as CSV.

Text in history was scrubbed of known secrets when it was written; each export is scrubbed again
with the current settings' secrets, and CSV cells that a spreadsheet would run as a formula are
prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from app import formatting as fmt
from app.arena.outcomes import OUTCOME_WINNER
from app.compare.conversation import message_text
from app.history.export import spreadsheet_safe
from app.history.judgments import RatingRow, VoteRecord
from app.history.store import HistoryStore, ResultView

Scrub = Callable[[str | None], str | None]
RATINGS_COLUMNS = [
    "rated_at",
    "run_id",
    "run_created_at",
    "result_id",
    "position",
    "backend",
    "model",
    "thumb",
    "stars",
    "note",
    "user_prompt",
    "answer",
]


def _split(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The conversation up to the answer (system, history, the user's message) and the answer's text."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    answer = next((m for m in messages[last_user + 1 :] if m.get("role") == "assistant"), None)
    content = answer.get("content") if answer else None
    return messages[: last_user + 1], content if isinstance(content, str) else ""


def _prompt_text(context: list[dict[str, Any]], fallback: str) -> str:
    users = [m for m in context if m.get("role") == "user"]
    return message_text(users[-1]) if users else fallback


def preference_pairs(store: HistoryStore, records: Sequence[VoteRecord]) -> list[dict[str, Any]]:
    """One ``{prompt, messages, chosen, rejected, …}`` per (winner, other answer) of each best-answer vote.

    Ties and "all bad" votes state no preference and give no pair; an answer without text
    (a failed column) is never ``chosen`` but can be ``rejected``.
    """
    views = {v.run.id: v for v in store.get_many([r.vote.run_id for r in records])}
    pairs = []
    for record in records:
        vote, view = record.vote, views.get(record.vote.run_id)
        if vote.outcome != OUTCOME_WINNER or view is None:
            continue
        by_position: dict[int, ResultView] = {r.result.position: r for r in view.results}
        winner = by_position.get(vote.winner_position if vote.winner_position is not None else -1)
        if winner is None:
            continue
        context, chosen = _split(winner.messages)
        chosen = chosen or winner.result.content
        if not chosen:
            continue
        for seat in sorted(record.seats, key=lambda seat: seat.position):
            loser = by_position.get(seat.position)
            if loser is None or seat.position == vote.winner_position or loser.result.model == winner.result.model:
                continue
            rejected = _split(loser.messages)[1] or loser.result.content
            pairs.append(
                {
                    "prompt": _prompt_text(context, view.run.user_prompt),
                    "messages": context,
                    "chosen": chosen,
                    "rejected": rejected,
                    "chosen_model": winner.result.model,
                    "rejected_model": loser.result.model,
                    "chosen_backend": winner.result.backend,
                    "rejected_backend": loser.result.backend,
                    "voted_at": fmt.iso_utc(vote.created_at),
                    "blind": vote.blind,
                    "tag": vote.tag,
                    "run_id": view.run.id,
                }
            )
    return pairs


def to_jsonl(pairs: Sequence[dict[str, Any]], scrub: Scrub) -> str:
    return "".join(scrub(json.dumps(pair, ensure_ascii=False)) + "\n" for pair in pairs)  # type: ignore[operator]


def ratings_csv(rows: Sequence[RatingRow], scrub: Scrub) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RATINGS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        rating, result, run = row.rating, row.result, row.run
        values = {
            "rated_at": fmt.iso_utc(rating.updated_at),
            "run_id": run.id,
            "run_created_at": fmt.iso_utc(run.created_at),
            "result_id": result.id,
            "position": result.position,
            "backend": result.backend,
            "model": result.model,
            "thumb": {1: "up", -1: "down"}.get(rating.thumb or 0, ""),
            "stars": rating.stars if rating.stars is not None else "",
            "note": rating.note,
            "user_prompt": run.user_prompt,
            "answer": result.content,
        }
        writer.writerow({k: spreadsheet_safe(scrub(v) if isinstance(v, str) else v) for k, v in values.items()})
    return buffer.getvalue()
