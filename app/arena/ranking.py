"""A Bradley-Terry ranking of models from pairwise outcomes, with bootstrap confidence intervals.

Every vote becomes pairwise outcomes: "A beats B", a best-of-N vote makes its winner beat each other
column, and a tie (or "all bad") ties every pair — half a win each way. The outcomes are summed
into a win matrix ``W`` (``W[i, j]`` = wins of i over j) and the Bradley-Terry maximum-likelihood
strengths are found by Newton's method (a few lines of numpy, run for all bootstrap samples at
once). The result depends only on the set of outcomes — never on their order, unlike an
Elo loop. A small prior (``PRIOR`` virtual tied games between every pair) keeps scores finite when
a model won or lost everything and pulls thinly-compared models toward the middle.

Scores are shown on the familiar Elo-like scale (``1000 + 400·θ/ln 10``: 400 points ≈ 10:1 odds).
The 95% interval comes from refitting on votes resampled with replacement (a fixed seed over votes
in a canonical order, so the same votes always give the same intervals).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.arena.outcomes import Pair

MIN_VOTES = 5
"""Below this many votes the ranking is reported as not meaningful yet."""
BOOTSTRAP_ROUNDS = 300
PRIOR = 0.1
"""Virtual games (half won by each side) between every pair of models."""
MAX_ITERATIONS = 200
MAX_STEP = 2.0
TOLERANCE = 1e-10
SCALE = 400 / math.log(10)
BASE = 1000.0


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


def win_matrix(pairs: Sequence[Pair], models: Sequence[str]) -> np.ndarray:
    """``W[i, j]``: wins of model i over model j (a tie is half a win each way)."""
    index = {m: i for i, m in enumerate(models)}
    wins = np.zeros((len(models), len(models)))
    for p in pairs:
        a, b = index[p.first], index[p.second]
        if p.tie:
            wins[a, b] += 0.5
            wins[b, a] += 0.5
        else:
            wins[a, b] += 1
    return wins


def fit_matrices(wins: np.ndarray, *, prior: float = PRIOR) -> np.ndarray:
    """Bradley-Terry log-strengths θ (mean 0 per row) for a stack of win matrices ``(k, n, n)``.

    Newton's method on the log-likelihood ``Σ W_ij log σ(θi − θj)``, which is concave; its Hessian is
    singular only along "add a constant to every θ", removed by solving with ``H − 11ᵀ``.
    """
    k, n, _ = wins.shape
    wins = wins + prior / 2 * (1 - np.eye(n))
    games = wins + wins.transpose(0, 2, 1)
    theta = np.zeros((k, n))
    ones = np.ones((n, n))
    diagonal = np.arange(n)
    for _ in range(MAX_ITERATIONS):
        p = 1 / (1 + np.exp(theta[:, None, :] - theta[:, :, None]))  # P(i beats j)
        gradient = (wins - games * p).sum(axis=2)
        weight = games * p * (1 - p)
        hessian = weight.copy()
        hessian[:, diagonal, diagonal] = -weight.sum(axis=2)
        step = np.linalg.solve(hessian - ones, -gradient[:, :, None])[:, :, 0]
        step = np.clip(step, -MAX_STEP, MAX_STEP)  # damped: far from the optimum a full step can overshoot
        theta += step
        if np.max(np.abs(step)) < TOLERANCE:
            break
    return theta - theta.mean(axis=1, keepdims=True)


def fit_strengths(pairs: Sequence[Pair], models: Sequence[str], *, prior: float = PRIOR) -> np.ndarray:
    """Bradley-Terry log-strengths θ (mean 0) of ``models`` from ``pairs``."""
    return fit_matrices(win_matrix(pairs, models)[None], prior=prior)[0]


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
    points_of: dict[tuple[str, str], list[float]] = {}
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
                points_of.setdefault((me, other), []).append(points)
    board.pairwise = [PairwiseCell(me, other, sum(pts) / len(pts), len(pts)) for (me, other), pts in sorted(points_of.items())]
    if len(canonical) < min_votes or len(models) < 2:
        return board

    n = len(models)
    index = {m: i for i, m in enumerate(models)}
    # every outcome as (vote, cell of W, wins): W of any resample is one weighted bincount
    vote_of, cell, amount = [], [], []
    for v, vote in enumerate(canonical):
        for p in vote:
            a, b = index[p.first], index[p.second]
            for i, j, w in ((a, b, 0.5), (b, a, 0.5)) if p.tie else ((a, b, 1.0),):
                vote_of.append(v)
                cell.append(i * n + j)
                amount.append(w)
    votes_of, cells, amounts = np.array(vote_of), np.array(cell), np.array(amount)
    theta = fit_matrices(np.bincount(cells, amounts, minlength=n * n).reshape(1, n, n))[0]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(canonical), (rounds, len(canonical)))
    resampled = np.empty((rounds, n * n))
    for r, row in enumerate(picks):
        copies = np.bincount(row, minlength=len(canonical))
        resampled[r] = np.bincount(cells, amounts * copies[votes_of], minlength=n * n)
    samples = fit_matrices(resampled.reshape(rounds, n, n))
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
