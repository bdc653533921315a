"""Known answers for the harmony statistics the music GAN's feature matching compares."""

from __future__ import annotations

import numpy as np
import torch

from studio.music.data import FIRST_PITCH_TOKEN, HOLD, PITCH_LOW, VOCAB
from studio.music.harmony_stats import (
    PAIRS,
    feature_matching_loss,
    interval_distributions,
    pitch_class_autocorrelation,
)
from studio.music.networks.gan import OneHotGrid

UNISON = 45  # index of a 0-semitone interval


def _grid(midi: list[int], steps: int = 16) -> torch.Tensor:
    """One fragment: every voice starts ``midi[v]`` on each beat and holds it between: [1, T, 4]."""
    grid = np.full((steps, 4), HOLD, dtype=np.int64)
    grid[::4] = [m - PITCH_LOW + FIRST_PITCH_TOKEN for m in midi]
    return torch.from_numpy(grid)[None]


def test_intervals_between_voices_land_in_their_signed_bins():
    probs = OneHotGrid(VOCAB)(_grid([72, 67, 64, 48]))  # C5 G4 E4 C3: no crossing
    dist = interval_distributions(probs, VOCAB)
    expected = {(0, 1): 5, (0, 2): 8, (0, 3): 24, (1, 2): 3, (1, 3): 19, (2, 3): 16}
    for pair, row in zip(PAIRS, dist):
        assert int(row.argmax()) - UNISON == expected[pair] and float(row.max()) == 0.25  # onsets on 4 of 16 steps
    crossed = interval_distributions(OneHotGrid(VOCAB)(_grid([72, 60, 64, 48])), VOCAB)  # the alto below the tenor
    assert float(crossed[PAIRS.index((1, 2))][:UNISON].sum()) == 0.25


def test_pitch_class_autocorrelation_is_the_same_in_every_key_and_tells_a_triad_from_a_cluster():
    triad = pitch_class_autocorrelation(OneHotGrid(VOCAB)(_grid([72, 67, 64, 48])), VOCAB)
    moved = pitch_class_autocorrelation(OneHotGrid(VOCAB)(_grid([75, 70, 67, 51])), VOCAB)  # up a minor third
    cluster = pitch_class_autocorrelation(OneHotGrid(VOCAB)(_grid([64, 63, 62, 61])), VOCAB)
    assert torch.allclose(triad, moved)
    assert abs(float(triad.sum()) - 1.0) < 1e-6  # the lags of a normalised profile sum to 1
    assert float(triad[1]) == 0.0 and float(cluster[1]) > 0.15  # semitones: none in C-E-G, 3 of 16 pairs in a cluster


def test_holding_one_chord_does_not_match_a_moving_one():
    moving = OneHotGrid(VOCAB)(_grid([72, 67, 64, 48]))
    held = torch.nn.functional.one_hot(torch.full((1, 16, 4), 1), VOCAB).float()  # all holds after one chord
    held[0, 0] = moving.view(1, 4, VOCAB, 16)[0, :, :, 0]
    held = held.permute(0, 2, 3, 1).reshape(1, 4 * VOCAB, 16)
    assert float(feature_matching_loss(moving, held, VOCAB)) > 1.0


def test_feature_matching_is_zero_for_the_same_batch_and_gives_the_soft_fake_a_gradient():
    real = OneHotGrid(VOCAB)(_grid([72, 67, 64, 48]))
    assert float(feature_matching_loss(real, real, VOCAB)) == 0.0
    logits = torch.zeros(1, 4, VOCAB, 16, requires_grad=True)
    fake = torch.softmax(logits, dim=2).view(1, 4 * VOCAB, 16)
    loss = feature_matching_loss(real, fake, VOCAB)
    loss.backward()
    assert float(loss.detach()) > 0.5 and float(logits.grad.abs().sum()) > 0
