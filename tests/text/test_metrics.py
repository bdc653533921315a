"""Text metrics: known answers for distinct-n, novelty and collapse, on the committed reference model."""

from __future__ import annotations

import numpy as np
import pytest

from studio.text.metrics import (
    TextReference,
    distinct_n,
    novelty,
    score_lines,
    span_hashes,
    span_table,
)
from studio.text.protocol import lines_from_text, real_baseline
from tests.text.marks import needs_reference


def test_distinct_n_known_answers():
    assert distinct_n(["a b a b"], 1) == pytest.approx(2 / 4)
    assert distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)  # (a b), (b a), (a b)
    assert distinct_n(["the same line"] * 100, 2) == pytest.approx(2 / 200)
    assert distinct_n([""], 2) == 0.0


def test_span_hashes_match_equal_spans_only():
    h = span_hashes("abcdefghijklmnopqrstuvwxyz" * 2)
    assert len(h) == 52 - 20 + 1
    assert h[0] == h[26] and len(set(h.tolist())) == 26


def test_novelty_is_zero_for_copied_text_and_one_for_new_text():
    rng = np.random.default_rng(0)
    train = "".join(rng.choice(list("abcdefgh "), size=20_000))
    table = span_table(train)
    copied = [train[i : i + 48] for i in range(0, 10_000, 48)]
    fresh = ["".join(rng.choice(list("ijklmnop "), size=48)) for _ in range(200)]
    assert novelty(copied, table) == 0.0
    assert novelty(fresh, table) == 1.0


def test_lines_from_text_follows_the_data_rule():
    assert lines_from_text("short\n  a line that is long enough  \n\n" + "x" * 60) == ["a line that is long enough"]


@needs_reference
def test_a_generator_repeating_one_line_is_flagged():
    reference = TextReference(device="cpu")
    stuck = score_lines(["My lord, I will go with you to the king."] * 2000, reference)
    assert stuck["distinct_2"] < 0.01 and stuck["collapsed"]
    assert stuck["distinct_lines"] == pytest.approx(1 / 2000)


@needs_reference
def test_held_out_text_scores_like_real_text():
    real = real_baseline(TextReference(device="cpu"), 2000)
    assert not real["collapsed"] and real["real_word_share"] > 0.95
    assert real["fd"] < 5 and real["ref_perplexity"] == pytest.approx(real["ref_perplexity_real"], rel=0.15)
    gibberish = ["".join(np.random.default_rng(i).choice(list("abcdefghijklmnopqrstuvwxyz  "), size=40))
                 for i in range(2000)]
    noise = score_lines(gibberish, TextReference(device="cpu"))
    assert noise["fd"] > 10 * max(real["fd"], 0.1) and noise["ref_perplexity"] > 2 * real["ref_perplexity"]
    assert noise["real_word_share"] < 0.5
