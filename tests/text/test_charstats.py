"""Character statistics: degenerate lines and character 3-gram divergence, with known answers."""

from __future__ import annotations

import random

import numpy as np
import pytest

from studio.text.charstats import (
    TrigramTable,
    degenerate_share,
    is_degenerate,
    js_divergence,
    trigram_counts,
    trigram_ids,
)
from studio.text.metrics import TextReference, score_lines
from studio.text.protocol import real_baseline
from studio.text.schema import verdict
from tests.text.marks import needs_reference


def test_degenerate_lines_known_answers():
    assert is_degenerate("yarrrrarrrrrrrrraradoooatoe")  # a run of 4+
    assert is_degenerate("Gg horo  q iC jpot,PG 44 xqtk")  # "xqtk": a vowelless word of 4 letters
    assert is_degenerate("word    word")  # four spaces in a row
    assert not is_degenerate("To be, or not to be, that is the question")
    assert not is_degenerate("Sweet rhythm, my lord; hmm, fly!")  # y is a vowel here; "hmm" is 3 letters
    assert not is_degenerate("Too good, sirrah")  # three r's at most, two o's
    assert degenerate_share(["rrrr", "fine line", "qwrt here", "ok"]) == pytest.approx(0.5)
    assert degenerate_share([]) == 0.0


def test_trigrams_count_line_edges_but_never_span_two_lines():
    ids = trigram_ids(["ab", "cd"])
    # "\nab", "ab\n" and "\ncd", "cd\n": four 3-grams, none made of one line's end and the next one's start
    assert len(ids) == 4
    decoded = {bytes([(i >> 16) & 255, (i >> 8) & 255, i & 255]).decode() for i in ids.tolist()}
    assert decoded == {"\nab", "ab\n", "\ncd", "cd\n"}


def test_js_divergence_is_zero_for_the_same_mix_and_one_for_disjoint_ones():
    a = trigram_counts(["the king is dead"] * 3)
    b = trigram_counts(["the king is dead"])
    assert js_divergence(*a, *b) == pytest.approx(0.0, abs=1e-12)  # counts differ, the mix is the same
    c = trigram_counts(["xyz qqq"])
    assert js_divergence(*a, *c) == pytest.approx(1.0)
    half = trigram_counts(["the king is dead", "xyz qqq wvu"])
    assert 0.1 < js_divergence(*a, *half) < 0.9


def test_trigram_table_round_trips(tmp_path):
    table = TrigramTable.of(["the king is dead", "long live the king"])
    table.save(tmp_path / "t.npz")
    back = TrigramTable.load(tmp_path / "t.npz")
    assert np.array_equal(back.ids, table.ids) and np.array_equal(back.counts, table.counts) and back.lines == 2
    assert back.divergence(["the king is dead", "long live the king"]) == pytest.approx(0.0, abs=1e-12)


@needs_reference
def test_the_readout_flags_degenerate_generators_and_not_held_out_lines():
    reference = TextReference(device="cpu")
    real = real_baseline(reference, 2000)
    assert not real["degenerate"] and real["degenerate_share"] < 0.01 and real["char3_js"] < 0.1
    assert verdict(real).startswith("diverse")

    rng = random.Random(0)
    stutter = ["".join(rng.choice(["rrrr", "aaa", "rrrraaa", "ra", " "]) for _ in range(12))[:48]
               for _ in range(2000)]
    stuttering = score_lines(stutter, reference)
    assert stuttering["degenerate"] and stuttering["degenerate_share"] > 0.9
    assert verdict(stuttering).startswith("⚠️ degenerate")

    shuffled = ["".join(rng.sample(line, len(line))) for line in reference.valid_lines[:2000]]
    scored = score_lines(shuffled, reference)
    # a shuffle keeps every character's frequency, and most of its words are unique nonsense: "diverse" by words
    assert scored["distinct_2"] > 0.5 and not scored["collapsed"]
    assert scored["degenerate"] and scored["char3_js"] > 5 * real["char3_js"]
