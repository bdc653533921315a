"""Music metric known answers on hand-built grids (no corpus needed)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.music import metrics as MM
from studio.music.data import (
    FIRST_PITCH_TOKEN,
    HOLD,
    PITCH_LOW,
    REST,
    STEPS_PER_BAR,
    fragments,
)


def tok(midi: int) -> int:
    return FIRST_PITCH_TOKEN + midi - PITCH_LOW


def held(chords: list[tuple[int, int, int, int]], steps_each: int) -> np.ndarray:
    """int64 [len(chords) * steps_each, 4]: each chord (S, A, T, B midi) struck and held."""
    grid = np.full((len(chords) * steps_each, 4), HOLD, dtype=np.int64)
    for i, chord in enumerate(chords):
        grid[i * steps_each] = [tok(p) for p in chord]
    return grid


CHORDS = [(72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (76, 72, 67, 48), (69, 64, 60, 57),
          (74, 69, 65, 50), (71, 65, 62, 55), (67, 64, 60, 48)]  # C-major diatonic, in range


def chorale(seed: int, bars: int = 8) -> np.ndarray:
    """A plausible piece: a random diatonic chord per beat, some eighth-note motion in the alto."""
    rng = np.random.default_rng(seed)
    grid = held([CHORDS[i] for i in rng.integers(len(CHORDS), size=bars * 4)], 4)
    passing = rng.random(bars * 4) < 0.3
    for beat in np.flatnonzero(passing):
        grid[beat * 4 + 2, 1] = tok(int(rng.choice([62, 65, 69])))
    return grid


@pytest.fixture(scope="module")
def reference() -> MM.MusicReference:
    heldout = [chorale(1000 + i) for i in range(12)]
    train = [chorale(i) for i in range(40)]
    return MM.make_reference(heldout, [f"piece{i}" for i in range(12)], train)


def test_all_keys_are_always_there(reference):
    keys = list(MM.music_metrics(fragments([chorale(5)]), reference))
    assert keys == list(MM.music_metrics(np.zeros((3, 64, 4), dtype=np.int64), reference))
    assert keys == list(MM.reference_row(reference))
    assert {"pitch_class_kl", "out_of_range", "voice_crossing", "parallel_5_8", "consonance_on_beats",
            "note_density", "rest_share", "novelty", "distinct_fragments", "collapsed",
            "fd"} <= set(keys)


def test_heldout_against_itself_scores_zero_distance(reference):
    row = MM.music_metrics(reference.heldout, reference)
    assert row["pitch_class_kl"] == pytest.approx(0.0, abs=1e-12)
    assert row["fd"] == pytest.approx(0.0, abs=1e-6)
    assert not row["collapsed"] and row["distinct_fragments"] == 1.0


def test_a_generator_stuck_on_one_chord_is_flagged(reference):
    stuck = np.repeat(held([CHORDS[0]], 64)[None], 200, axis=0)
    row = MM.music_metrics(stuck, reference)
    assert row["collapsed"] and row["distinct_fragments"] == pytest.approx(1 / 200)
    assert row["verticals_per_bar"] == pytest.approx(0.25)
    assert row["fd"] > 10 * MM.reference_row(reference)["fd"]


def test_a_generator_replaying_one_training_fragment_has_no_novelty(reference):
    copy = np.repeat(fragments([chorale(3)])[:1], 100, axis=0)
    row = MM.music_metrics(copy, reference)
    assert row["novelty"] == 0.0 and row["collapsed"] and row["distinct_fragments"] == pytest.approx(0.01)


def test_new_music_is_novel_and_training_music_is_not(reference):
    assert MM.novelty(fragments([chorale(7)]), reference.train_index) == 0.0
    assert MM.novelty(fragments([chorale(123)]), reference.train_index) > 0.9


def test_window_hashes_tell_windows_apart():
    a = fragments([chorale(0)], steps=32, hop=1)
    h = MM.window_hashes(a)
    assert h.dtype == np.uint64 and len(np.unique(h)) == len(np.unique(a.reshape(len(a), -1), axis=0))
    b = a.copy()
    b[:, 31, 3] = REST  # one cell differs
    assert not np.isin(MM.window_hashes(b), h).any()


def test_a_bass_above_its_range_counts_as_out_of_range():
    grid = held([(72, 67, 64, 72)], 64)  # bass on C5 (MIDI 72): its range is 40..60
    shares = MM.out_of_range_shares(grid[None])
    assert shares["out_of_range_bass"] == 1.0 and shares["out_of_range_soprano"] == 0.0
    assert shares["out_of_range"] == pytest.approx(0.25)


def test_hand_built_parallel_fifths_are_counted():
    # soprano G4->A4 over bass C3->D3: a (compound) fifth to a fifth, both moving up.
    grid = held([(67, 64, 60, 48), (69, 65, 60, 50)], 8)
    assert MM.parallel_fifths_octaves(grid[None]) == (1, 3)  # S-B parallel; S-A and A-B move but not P5/P8
    contrary = held([(67, 64, 60, 48), (62, 65, 60, 55)], 8)  # fifth to fifth by contrary motion
    assert MM.parallel_fifths_octaves(contrary[None])[0] == 0
    octaves = held([(72, 64, 60, 48), (74, 64, 60, 50)], 8)
    assert MM.parallel_fifths_octaves(octaves[None]) == (1, 1)
    rest_between = held([(67, 64, 60, 48), (69, 64, 60, 50)], 8)
    rest_between[8:, 3] = [REST] * 4 + [tok(50)] + [HOLD] * 3  # a rest breaks the chain
    assert MM.parallel_fifths_octaves(rest_between[None])[0] == 0


def test_a_voice_crossing_is_counted():
    grid = held([(72, 67, 64, 48)], 16)
    grid[8, 1] = tok(74)  # the alto jumps above the soprano for the second half
    assert MM.voice_crossing_rate(grid[None]) == pytest.approx(0.5)
    assert MM.voice_crossing_rate(held([(72, 67, 64, 48)], 16)[None]) == 0.0


def test_consonance_on_beats():
    assert MM.consonance_on_beats(held([(72, 67, 64, 48)], 16)[None]) == 1.0  # C major
    assert MM.consonance_on_beats(held([(64, 60, 55, 48)], 16)[None]) == 1.0  # P4 G3-C4 between upper voices
    assert MM.consonance_on_beats(held([(72, 65, 60, 48)], 16)[None]) == 0.0  # F a fourth above the bass C
    assert MM.consonance_on_beats(held([(72, 67, 64, 55)], 16)[None]) == 0.0  # C a fourth above the bass G
    assert MM.consonance_on_beats(held([(74, 67, 64, 48)], 16)[None]) == 0.0  # D: a ninth above the bass
    grid = held([(72, 67, 64, 48)], 16)
    grid[4:9, 0] = [tok(74), HOLD, HOLD, HOLD, tok(72)]  # a dissonant second beat of four
    assert MM.consonance_on_beats(grid[None]) == 0.75


def test_density_and_rests():
    grid = held([(72, 67, 64, 48)] * 4, 4)  # a chord each beat: 4 onsets per voice per bar
    grid[:, 0] = REST
    density, rests = MM.density_and_rests(grid[None])
    assert density == pytest.approx(3.0) and rests == pytest.approx(0.25)


def test_pitch_class_kl_is_key_invariant_and_grows_with_chromatic_noise(reference):
    real = MM.pitch_class_distribution(reference.heldout)
    assert real.sum() == pytest.approx(1.0)
    up_a_tone = reference.heldout.copy()
    up_a_tone[up_a_tone >= FIRST_PITCH_TOKEN] += 2
    assert MM.kl_divergence(MM.pitch_class_distribution(up_a_tone), real) == pytest.approx(0.0, abs=1e-9)
    noise = np.random.default_rng(0).integers(tok(55), tok(75), size=(50, 64, 4))
    assert MM.kl_divergence(MM.pitch_class_distribution(noise), real) > 0.3


def test_features_are_finite_even_for_silence():
    feats = MM.music_features(np.zeros((4, 64, 4), dtype=np.int64))
    assert feats.shape == (4, 50) and np.isfinite(feats).all()
    assert np.isfinite(MM.music_features(fragments([chorale(1)]))).all()


def test_reference_row_scores_real_data_as_real(reference):
    row = MM.reference_row(reference)
    assert not row["collapsed"] and row["n_samples"] == len(reference.heldout)
    assert 0.0 < row["pitch_class_kl"] < 0.05 and row["fd"] > 0.0  # half vs half, not 0


def test_bad_sample_shapes_are_refused(reference):
    with pytest.raises(ValueError, match=r"\[N, T, 4\]"):
        MM.music_metrics(np.zeros((64, 4), dtype=np.int64), reference)
    with pytest.raises(ValueError, match="2 bars"):
        MM.music_metrics(np.zeros((2, STEPS_PER_BAR, 4), dtype=np.int64), reference)
