"""The leaderboard from known votes: fooled rates, ratings, and tau turned so that +1 means agreement."""

from __future__ import annotations

import pytest

from studio.humaneval.board import build_board, oriented_tau


def test_board_from_known_votes():
    models = ["m-good", "m-mid", "m-bad"]
    metrics = {"m-good": {"fd": 5.0}, "m-mid": {"fd": 10.0}, "m-bad": {"fd": 20.0}}
    judgements = [("m-good", True)] * 6 + [("m-good", False)] * 4 + [("m-bad", False)] * 10 + \
        [("real", True)] * 8 + [("real", False)] * 2 + [("gone-model", True)]
    comparisons = [("m-good", "m-mid", "left")] * 8 + [("m-mid", "m-bad", "left")] * 8 + \
        [("m-bad", "m-good", "right")] * 8 + [("m-good", "m-mid", "tie")] * 2
    board = build_board(models, metrics, ("fd",), judgements, comparisons, rounds=50)
    rows = {r.model: r for r in board.rows}
    assert rows["m-good"].fooled_rate == 0.6 and rows["m-bad"].fooled_rate == 0.0
    assert rows["m-mid"].judged == 0 and rows["m-mid"].fooled_rate is None
    assert (board.real_judged, board.real_said_real) == (10, 8)
    assert rows["m-good"].rating > rows["m-mid"].rating > rows["m-bad"].rating
    assert rows["m-good"].pair_votes == 18
    assert board.taus["fd"] == pytest.approx(-1.0)  # higher rating, lower FD
    assert oriented_tau(board.taus["fd"], "lower") == pytest.approx(1.0)  # so people and FD agree


def test_models_without_pairwise_votes_have_no_rating_and_no_tau():
    board = build_board(["a", "b"], {}, ("fd",), [], [], rounds=10)
    assert all(r.rating is None for r in board.rows)
    assert board.taus["fd"] != board.taus["fd"]  # nan
