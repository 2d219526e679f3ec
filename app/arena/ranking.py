"""A Bradley-Terry ranking of models from pairwise outcomes, with bootstrap confidence intervals.

Every vote becomes pairwise outcomes: "A beats B", a best-of-N vote makes its winner beat each other
column, and a tie (or "all bad") ties every pair. The fit is ``choix``'s maximum-likelihood
Bradley-Terry (ILSR), which depends only on the set of outcomes — never on their order, unlike an
Elo loop. A tie counts as half a win each way: decisive outcomes enter twice, ties once in each
direction, so the likelihood is exactly that of half-wins (times two, which moves no maximum).

Scores are shown on the familiar Elo-like scale (``1000 + 400·θ/ln 10``: 400 points ≈ 10:1 odds).
The 95% interval comes from refitting on votes resampled with replacement (a fixed seed over
votes in a canonical order, so the same votes always give the same intervals).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import choix
import numpy as np

MIN_VOTES = 5
"""Below this many votes the ranking is reported as not meaningful yet."""
BOOTSTRAP_ROUNDS = 300
ALPHA = 0.01
"""L2 regularisation: keeps scores finite when a model won (or lost) every comparison."""
SCALE = 400 / math.log(10)
BASE = 1000.0

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


@dataclass(frozen=True)
class Standing:
    model: str
    score: float
    low: float
    high: float
    votes: int
    """Votes this model took part in."""
    wins: int
    losses: int
    ties: int

    @property
    def win_rate(self) -> float | None:
        """Share of its pairwise outcomes won (a tie counts half)."""
        games = self.wins + self.losses + self.ties
        return (self.wins + 0.5 * self.ties) / games if games else None


@dataclass(frozen=True)
class PairwiseCell:
    model: str
    opponent: str
    win_rate: float
    games: int


@dataclass
class Leaderboard:
    votes: int
    standings: list[Standing] = field(default_factory=list)
    """Best first; empty when the ranking is not meaningful yet."""
    pairwise: list[PairwiseCell] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    @property
    def meaningful(self) -> bool:
        return bool(self.standings)


def _choix_data(pairs: Sequence[Pair], index: dict[str, int]) -> list[tuple[int, int]]:
    data: list[tuple[int, int]] = []
    for p in pairs:
        a, b = index[p.first], index[p.second]
        data += [(a, b), (b, a)] if p.tie else [(a, b), (a, b)]
    return data


def fit_strengths(pairs: Sequence[Pair], models: Sequence[str], *, alpha: float = ALPHA) -> np.ndarray:
    """Bradley-Terry log-strengths θ (mean 0) of ``models`` from ``pairs``; P(i beats j) = σ(θi − θj)."""
    index = {m: i for i, m in enumerate(models)}
    data = _choix_data(pairs, index)
    if not data:
        return np.zeros(len(models))
    try:
        theta = choix.ilsr_pairwise(len(models), data, alpha=alpha)
    except RuntimeError:  # ILSR did not converge: the direct optimiser always returns
        theta = choix.opt_pairwise(len(models), data, alpha=max(alpha, 1e-6))
    theta = np.asarray(theta, dtype=float)
    return theta - theta.mean()


def to_score(theta: np.ndarray | float) -> np.ndarray | float:
    return BASE + SCALE * theta


def leaderboard(
    votes: Sequence[Sequence[Pair]], *, min_votes: int = MIN_VOTES, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0
) -> Leaderboard:
    """Rank the models of ``votes`` (each vote: the pairs it implies) with 95% bootstrap intervals."""
    canonical = sorted((tuple(sorted(v)) for v in votes if v), key=lambda v: [(p.first, p.second, p.tie) for p in v])
    models = sorted({m for vote in canonical for p in vote for m in (p.first, p.second)})
    board = Leaderboard(votes=len(canonical), models=models)
    counts = {m: {"votes": 0, "wins": 0, "losses": 0, "ties": 0} for m in models}
    cells: dict[tuple[str, str], list[float]] = {}
    for vote in canonical:
        for m in {x for p in vote for x in (p.first, p.second)}:
            counts[m]["votes"] += 1
        for p in vote:
            if p.tie:
                counts[p.first]["ties"] += 1
                counts[p.second]["ties"] += 1
            else:
                counts[p.first]["wins"] += 1
                counts[p.second]["losses"] += 1
            for me, other, points in ((p.first, p.second, 0.5 if p.tie else 1.0), (p.second, p.first, 0.5 if p.tie else 0.0)):
                cells.setdefault((me, other), []).append(points)
    board.pairwise = [PairwiseCell(me, other, sum(pts) / len(pts), len(pts)) for (me, other), pts in sorted(cells.items())]
    if len(canonical) < min_votes or len(models) < 2:
        return board

    all_pairs = [p for vote in canonical for p in vote]
    theta = fit_strengths(all_pairs, models)
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, len(models)))
    for r in range(rounds):
        picked = rng.integers(0, len(canonical), len(canonical))
        samples[r] = fit_strengths([p for i in picked for p in canonical[i]], models)
    low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    standings = [
        Standing(
            model=m,
            score=float(to_score(theta[i])),
            low=float(to_score(low[i])),
            high=float(to_score(high[i])),
            **counts[m],
        )
        for i, m in enumerate(models)
    ]
    board.standings = sorted(standings, key=lambda s: (-s.score, s.model))
    return board
