"""The Bradley-Terry leaderboard: hand-checked scores, vote-order invariance, ties and thresholds."""

from __future__ import annotations

import math
import random

import pytest

from app.arena.outcomes import Pair, vote_pairs
from app.arena.ranking import MIN_VOTES, SCALE, fit_strengths, leaderboard


def test_two_models_three_wins_to_one_give_odds_of_three() -> None:
    # P(A beats B) = 3/4 maximises the likelihood of 3 wins in 4 → θA − θB = ln 3.
    theta = fit_strengths([Pair("a", "b")] * 3 + [Pair("b", "a")], ["a", "b"], prior=0)
    assert theta[0] - theta[1] == pytest.approx(math.log(3), abs=1e-6)
    assert theta.sum() == pytest.approx(0, abs=1e-9)


def test_a_chain_of_matches_adds_up_along_the_chain() -> None:
    # A–B 3:1 and B–C 3:1 with no A–C game: the likelihood splits, so each gap is ln 3 and A–C is 2·ln 3.
    pairs = [Pair("a", "b")] * 3 + [Pair("b", "a")] + [Pair("b", "c")] * 3 + [Pair("c", "b")]
    a, b, c = fit_strengths(pairs, ["a", "b", "c"], prior=0)
    assert a - b == pytest.approx(math.log(3), abs=1e-6)
    assert b - c == pytest.approx(math.log(3), abs=1e-6)
    assert a - c == pytest.approx(2 * math.log(3), abs=1e-6)


def test_a_tie_counts_as_half_a_win_each_way() -> None:
    # one win and two ties for A: A has 2 "points" of 3 → odds 2:1 → θA − θB = ln 2
    pairs = [Pair("a", "b"), Pair("a", "b", tie=True), Pair("a", "b", tie=True)]
    a, b = fit_strengths(pairs, ["a", "b"], prior=0)
    assert a - b == pytest.approx(math.log(2), abs=1e-6)


def test_leaderboard_scores_are_on_the_elo_like_scale_with_an_interval_around_them() -> None:
    votes = [[Pair("a", "b")]] * 9 + [[Pair("b", "a")]] * 3
    board = leaderboard(votes)
    assert board.meaningful and board.votes == 12
    first, second = board.standings
    assert (first.model, second.model) == ("a", "b")
    # regularisation pulls the gap a little below 400·log10(3) ≈ 190.8 points
    assert 170 < first.score - second.score <= SCALE * math.log(3) + 1e-6
    assert first.score + second.score == pytest.approx(2000)
    for s in board.standings:
        assert s.low <= s.score <= s.high
    assert (first.wins, first.losses, first.ties, first.votes) == (9, 3, 0, 12)
    assert first.win_rate == pytest.approx(0.75)
    cells = {(c.model, c.opponent): (c.win_rate, c.games) for c in board.pairwise}
    assert cells == {("a", "b"): (0.75, 12), ("b", "a"): (0.25, 12)}


def test_the_ranking_does_not_depend_on_the_order_of_the_votes() -> None:
    votes = (
        [vote_pairs(["x", "y", "z"], "winner", 0)] * 4
        + [vote_pairs(["y", "z"], "winner", 1)] * 3
        + [vote_pairs(["x", "z"], "tie")] * 2
        + [vote_pairs(["z", "x", "y"], "winner", 2)] * 2
        + [vote_pairs(["x", "y"], "all_bad")]
    )
    reference = leaderboard(votes)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = [list(v) for v in votes]
        rng.shuffle(shuffled)
        for vote in shuffled:
            rng.shuffle(vote)
        again = leaderboard(shuffled)
        assert again.standings == reference.standings  # scores and intervals identical, not just close
        assert again.pairwise == reference.pairwise


def test_a_model_that_won_every_game_still_gets_a_finite_score() -> None:
    board = leaderboard([[Pair("a", "b")]] * 6)
    assert [s.model for s in board.standings] == ["a", "b"]
    assert all(math.isfinite(v) for s in board.standings for v in (s.score, s.low, s.high))


def test_below_a_handful_of_votes_there_is_no_ranking_only_counts() -> None:
    board = leaderboard([[Pair("a", "b")]] * (MIN_VOTES - 1))
    assert not board.meaningful and board.votes == MIN_VOTES - 1
    assert board.models == ["a", "b"]
    assert {(c.model, c.win_rate) for c in board.pairwise} == {("a", 1.0), ("b", 0.0)}


def test_vote_pairs_best_of_n_tie_and_all_bad() -> None:
    assert vote_pairs(["a", "b", "c"], "winner", 1) == [Pair("b", "a"), Pair("b", "c")]
    assert vote_pairs(["b", "a"], "tie") == [Pair("a", "b", tie=True)]
    assert vote_pairs(["a", "b", "c"], "all_bad") == [Pair("a", "b", True), Pair("a", "c", True), Pair("b", "c", True)]
    assert vote_pairs(["a", "a"], "winner", 0) == []  # the same model twice says nothing about ranking
    with pytest.raises(ValueError, match="winner 3 is not one of the 2 columns"):
        vote_pairs(["a", "b"], "winner", 3)
    with pytest.raises(ValueError, match="unknown outcome 'maybe'"):
        vote_pairs(["a", "b"], "maybe")
