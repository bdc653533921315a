"""The leaderboard: per model, the human rating (Bradley-Terry on the pairwise votes, on the Elo scale, with
bootstrap 95% intervals), the fooled rate (the share of its samples judged real, with a Wilson interval),
vote counts and the main automatic metrics; then Kendall's tau between the human ranking and each metric's."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.humaneval.stats import bootstrap_ratings, kendall_tau, wilson

ELO = 400 / math.log(10)  # Bradley-Terry log-strength -> Elo points (a 400-point gap is 10:1 odds)
ELO_BASE = 1000
SCORE = {"left": 1.0, "right": 0.0, "tie": 0.5}


@dataclass
class ModelRow:
    model: str
    rating: float | None  # Elo scale, None without pairwise votes
    rating_low: float | None
    rating_high: float | None
    pair_votes: int
    fooled: int  # its samples judged real
    judged: int  # its samples judged at all
    metrics: dict[str, float | None]

    @property
    def fooled_rate(self) -> float | None:
        return self.fooled / self.judged if self.judged else None

    @property
    def fooled_interval(self) -> tuple[float, float]:
        return wilson(self.fooled, self.judged)


@dataclass
class Board:
    rows: list[ModelRow]
    real_judged: int  # real items shown
    real_said_real: int  # ... that visitors called real
    taus: dict[str, float]  # metric key -> Kendall's tau with the human rating (nan when it can't be computed)
    comparisons: int
    judgements: int


def build_board(model_ids: list[str], metrics: dict[str, dict[str, Any]], metric_keys: tuple[str, ...],
                judgement_rows: list[Any], comparison_rows: list[Any], rounds: int = 200) -> Board:
    """``judgement_rows``: (source, said_real, ...); ``comparison_rows``: (left_model, right_model, outcome, ...).
    Votes about models no longer registered are left out of the ratings."""
    index = {m: i for i, m in enumerate(model_ids)}
    votes = [(index[r[0]], index[r[1]], SCORE[r[2]]) for r in comparison_rows if r[0] in index and r[1] in index]
    per_model_votes = np.zeros(len(model_ids), dtype=int)
    for i, j, _ in votes:
        per_model_votes[[i, j]] += 1
    rating, low, high = bootstrap_ratings(votes, len(model_ids), rounds=rounds)
    fooled = {m: 0 for m in model_ids}
    judged = {m: 0 for m in model_ids}
    real_judged = real_said_real = 0
    for source, said_real, *_ in judgement_rows:
        if source == "real":
            real_judged += 1
            real_said_real += bool(said_real)
        elif source in judged:
            judged[source] += 1
            fooled[source] += bool(said_real)
    rows = []
    for i, m in enumerate(model_ids):
        has = per_model_votes[i] > 0
        rows.append(ModelRow(m, ELO_BASE + ELO * rating[i] if has else None,
                             ELO_BASE + ELO * low[i] if has else None, ELO_BASE + ELO * high[i] if has else None,
                             int(per_model_votes[i]), fooled[m], judged[m],
                             {k: _number(metrics.get(m, {}).get(k)) for k in metric_keys}))
    return Board(rows, real_judged, real_said_real, rank_agreement(rows, metric_keys), len(votes),
                 sum(judged.values()) + real_judged)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        else None


def rank_agreement(rows: list[ModelRow], metric_keys: tuple[str, ...]) -> dict[str, float]:
    """Kendall's tau between the human rating and each metric, over the models that have both. The metric's
    raw values are used; ``oriented_taus`` turns the sign so that +1 always means agreement."""
    taus = {}
    for key in metric_keys:
        pairs = [(r.rating, r.metrics[key]) for r in rows if r.rating is not None and r.metrics.get(key) is not None]
        taus[key] = kendall_tau(*zip(*pairs)) if len(pairs) >= 2 else float("nan")
    return taus


def oriented_tau(tau: float, better: str) -> float:
    """+1 when the metric ranks the models exactly as people do: a lower-is-better metric's tau changes sign."""
    return -tau if better == "lower" else tau
