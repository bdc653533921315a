"""The statistics of the leaderboard: Wilson intervals for a rate, Bradley-Terry ratings from pairwise votes
(with bootstrap intervals), and Kendall's tau between two rankings. numpy only."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95% by default); (0, 1) with no trials. Unlike the
    normal approximation it stays inside [0, 1] and is honest for small counts and rates near 0 or 1."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def win_matrix(votes: Sequence[tuple[int, int, float]], n: int) -> np.ndarray:
    """wins[i, j]: how often i beat j; a vote is (i, j, score of i): 1 a win, 0 a loss, 0.5 a tie (half a
    win each way, the usual way to keep ties in Bradley-Terry)."""
    wins = np.zeros((n, n))
    for i, j, score in votes:
        wins[i, j] += score
        wins[j, i] += 1.0 - score
    return wins


def bradley_terry(wins: np.ndarray, iterations: int = 500, prior: float = 0.5) -> np.ndarray:
    """Bradley-Terry strengths on a log scale (mean 0) from a win matrix [n, n], by the minorise-maximise
    updates (Hunter 2004). ``prior`` adds that many virtual ties between every pair that met, so a model
    that won (or lost) every vote gets a finite rating; models that never met anyone get 0."""
    n = len(wins)
    games = wins + wins.T
    met = games > 0
    w = wins + prior * met / 2  # (n, n) with virtual ties
    games = w + w.T
    total_wins = w.sum(1)  # (n,)
    strength = np.ones(n)
    for _ in range(iterations):
        denom = (games / (strength[:, None] + strength[None, :])).sum(1)
        new = np.where(denom > 0, total_wins / np.maximum(denom, 1e-300), strength)
        new = np.maximum(new, 1e-12)
        new /= math.exp(np.log(new).mean())
        if np.max(np.abs(np.log(new) - np.log(strength))) < 1e-10:
            strength = new
            break
        strength = new
    return np.log(strength) - np.log(strength).mean()


def bootstrap_ratings(votes: Sequence[tuple[int, int, float]], n: int, rounds: int = 200,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratings [n] and their 95% percentile intervals (low [n], high [n]) from ``rounds`` resamples of the
    votes with replacement."""
    rating = bradley_terry(win_matrix(votes, n))
    if not votes:
        return rating, rating.copy(), rating.copy()
    rng = np.random.default_rng(seed)
    arr = np.asarray(votes, dtype=float)  # (V, 3)
    draws = np.empty((rounds, n))
    for r in range(rounds):
        sample = arr[rng.integers(0, len(arr), len(arr))]
        draws[r] = bradley_terry(win_matrix([(int(i), int(j), s) for i, j, s in sample], n), iterations=200)
    return rating, np.percentile(draws, 2.5, axis=0), np.percentile(draws, 97.5, axis=0)


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b between two scorings of the same items (ties allowed); nan with fewer than two items
    or when either scoring is constant."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"both rankings must score the same items; got {len(x)} and {len(y)}")
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif dx == dy:
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denom if denom else float("nan")
