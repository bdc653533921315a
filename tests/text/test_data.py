"""Shakespeare data: split by whole plays, character vocabulary, cached lines; prompt mapping."""

from __future__ import annotations

import numpy as np
import pytest

from studio.registry.record import DataMissing
from studio.text.codec import decode_lines, encode_lines, map_prompt
from studio.text.data import HELD_OUT_PLAYS, LINE_LENGTH, MIN_LINE, load_shakespeare, normalise, texts_dir

try:
    texts_dir()
    HAVE_DATA = True
except DataMissing:
    HAVE_DATA = False
needs_data = pytest.mark.skipif(not HAVE_DATA, reason="Shakespeare is not installed (bash scripts/get_data.sh)")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return load_shakespeare(cache_dir=tmp_path_factory.mktemp("cache"))


@needs_data
def test_no_play_is_in_both_splits(corpus):
    assert set(corpus.held_out) == set(HELD_OUT_PLAYS)
    assert not set(corpus.train_works) & set(corpus.held_out)
    train_text = corpus.decode(corpus.train_ids)
    valid_text = corpus.decode(corpus.valid_ids)
    # Hamlet's most famous line is held out with its play, and only there.
    assert "To be, or not to be" in valid_text and "To be, or not to be" not in train_text
    assert 0.08 < len(corpus.valid_ids) / (len(corpus.train_ids) + len(corpus.valid_ids)) < 0.2


@needs_data
def test_lines_are_fixed_length_and_decode_back(corpus):
    assert corpus.train_lines.shape[1] == corpus.valid_lines.shape[1] == LINE_LENGTH
    lines = decode_lines(corpus.valid_lines[:200], corpus.vocab)
    assert all(MIN_LINE <= len(line) <= LINE_LENGTH for line in lines)
    np.testing.assert_array_equal(encode_lines(lines, corpus.vocab, LINE_LENGTH), corpus.valid_lines[:200])


@needs_data
def test_cache_gives_the_same_arrays(corpus, tmp_path_factory):
    cache = tmp_path_factory.mktemp("again")
    first = load_shakespeare(cache_dir=cache)
    second = load_shakespeare(cache_dir=cache)  # from the .npz
    assert list(cache.glob("*.npz"))
    assert first.vocab == second.vocab == corpus.vocab
    np.testing.assert_array_equal(first.train_ids, second.train_ids)
    np.testing.assert_array_equal(first.valid_lines, second.valid_lines)


def test_missing_data_names_the_setup_script(tmp_path):
    with pytest.raises(DataMissing, match="get_data.sh"):
        load_shakespeare(data_dir=tmp_path)


def test_normalise_keeps_one_blank_line_and_no_trailing_spaces():
    assert normalise("a  \r\n\r\n\r\n\nb\n") == "a\n\nb\n"


def test_prompt_mapping_makes_typography_plain_and_reports_the_rest():
    charset = " '-.ACaefist\n"
    mapped = map_prompt("Caf\u00e9 \u2019tis \u4e2d\u2014", charset)
    assert mapped.text == "Cafe 'tis --" and mapped.dropped == "\u4e2d"
    assert [charset[i] for i in mapped.ids] == list(mapped.text)
