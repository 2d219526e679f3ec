"""Synthetic votes on a seeded demo history (leaderboard tests and screenshots)."""

from __future__ import annotations

import math
import random

from app.history.judgments import Seat, record_vote
from app.history.store import HistoryStore

DEMO_STRENGTH = {"demo-thinker": 1.0, "demo-slow": 0.6, "demo-messages": 0.3, "demo-fast": 0.0, "demo-tools": -0.6}
TAGS = ("coding", "writing")


def seed_demo_votes(store: HistoryStore, *, seed: int = 7, tie_share: float = 0.12) -> int:
    """A blind vote on every stored run, drawn from fixed hidden strengths; returns how many."""
    rng = random.Random(seed)
    count = 0
    for view in store.search(limit=10_000):
        results = [r.result for r in view.results]
        if len(results) < 2:
            continue
        order = list(range(len(results)))
        rng.shuffle(order)
        seats = [
            Seat(
                label=f"Model {'ABCDEF'[slot]}",
                position=results[i].position,
                result_id=results[i].id,
                backend=results[i].backend,
                model=results[i].model,
            )
            for slot, i in enumerate(order)
        ]
        if rng.random() < tie_share:
            outcome, winner = "tie", None
        else:
            weights = [math.exp(DEMO_STRENGTH.get(r.model, 0.0)) for r in results]
            outcome, winner = "winner", rng.choices(results, weights)[0].position
        record_vote(store, view.run.id, outcome=outcome, winner_position=winner, seats=seats, blind=True, tag=rng.choice(TAGS))
        count += 1
    return count
