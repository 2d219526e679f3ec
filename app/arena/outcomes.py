"""Votes as pairwise outcomes (no numpy: Compare and History import this, the ranking adds the maths)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OUTCOME_WINNER, OUTCOME_TIE, OUTCOME_ALL_BAD = "winner", "tie", "all_bad"
OUTCOMES = (OUTCOME_WINNER, OUTCOME_TIE, OUTCOME_ALL_BAD)


@dataclass(frozen=True, order=True)
class Pair:
    """One pairwise outcome: ``first`` beat ``second`` (or they tied)."""

    first: str
    second: str
    tie: bool = False


def vote_pairs(models: Sequence[str], outcome: str, winner: int | None = None) -> list[Pair]:
    """The pairwise outcomes a vote implies (``models`` in column order; same-model pairs are skipped).

    Raises ``ValueError`` for an unknown outcome or a winner that is not one of the columns.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r} (expected one of {', '.join(OUTCOMES)})")
    if outcome == OUTCOME_WINNER:
        if winner is None or not 0 <= winner < len(models):
            raise ValueError(f"winner {winner!r} is not one of the {len(models)} columns")
        best = models[winner]
        return [Pair(best, other) for i, other in enumerate(models) if i != winner and other != best]
    pairs = []
    for i in range(len(models)):
        for j in range(i + 1, len(models)):
            if models[i] != models[j]:
                a, b = sorted((models[i], models[j]))
                pairs.append(Pair(a, b, tie=True))
    return pairs
