"""Known answers for the leaderboard's statistics, and simulated voters whose true order is recovered."""

from __future__ import annotations

import math

import numpy as np
import pytest

from studio.humaneval.stats import bootstrap_ratings, bradley_terry, kendall_tau, wilson, win_matrix


def test_wilson_known_values():
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_kendall_tau_known_answers():
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert kendall_tau([1, 2, 3], [1, 1, 2]) == pytest.approx(2 / math.sqrt(6))  # tau-b with a tie
    assert math.isnan(kendall_tau([1], [2]))


def test_bradley_terry_recovers_two_to_one_odds():
    wins = np.array([[0, 200], [100, 0]], dtype=float)
    rating = bradley_terry(wins, prior=0)
    assert rating[0] - rating[1] == pytest.approx(math.log(2), abs=1e-6)


def test_a_model_that_wins_every_vote_gets_a_finite_rating():
    rating = bradley_terry(win_matrix([(0, 1, 1.0)] * 20, 2))
    assert np.isfinite(rating).all() and rating[0] > rating[1]


def simulated_votes(strengths: np.ndarray, count: int, rng: np.random.Generator) -> list[tuple[int, int, float]]:
    """Voters who prefer i over j with Bradley-Terry odds, and call 10% of close calls a tie."""
    votes = []
    n = len(strengths)
    for _ in range(count):
        i, j = rng.choice(n, 2, replace=False)
        p = 1 / (1 + math.exp(strengths[j] - strengths[i]))
        u = rng.random()
        votes.append((i, j, 0.5 if abs(u - p) < 0.05 else float(u < p)))
    return votes


def test_simulated_voters_recover_the_true_order_with_shrinking_intervals():
    truth = np.array([1.2, 0.4, -0.3, -1.0])  # model 0 best
    rng = np.random.default_rng(0)
    widths = []
    for count in (200, 800):
        rating, low, high = bootstrap_ratings(simulated_votes(truth, count, rng), len(truth), rounds=100)
        assert kendall_tau(rating, truth) == 1.0
        assert (low <= rating).all() and (rating <= high).all()
        widths.append(float(np.mean(high - low)))
    assert widths[1] < 0.7 * widths[0]  # about 1/2 expected for 4x the votes
