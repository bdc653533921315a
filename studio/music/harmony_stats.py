"""Differentiable harmony statistics of soft fragments, for feature matching in the music GAN.

A critic judges whole fragments and can be fooled by fragments whose notes are in no key and whose voices
cross. These statistics name those failures directly, as batch averages that can be matched to a real
batch's (Salimans et al. 2016's feature matching):
- the pitch-class profile's circular autocorrelation: how often two pitch classes k semitones apart sound in
  one fragment. It is the same in every key, so it asks for tonality without fixing a key (the data are in
  twelve transpositions), and a diatonic fragment's is far from a chromatic one's;
- for every pair of voices, how often per step both start a note at each signed interval (upper minus
  lower, in semitones): consonance is in it, so is a crossing (a negative interval) and the spacing of the
  voices, and so is how often the voices move together. It is not normalised per fragment: a generator that
  holds one chord for four bars starts almost no notes, and that shows (normalised, it did not: a feature-
  matched run learned to hold one chord).

Both are computed from token probabilities [B, 4V, T] (one-hot for real fragments), so the generator's
softmax gets gradients.
"""

from __future__ import annotations

from itertools import combinations

import torch

from studio.music.data import FIRST_PITCH_TOKEN, NUM_PITCHES, PITCH_LOW, VOICES

PAIRS = tuple(combinations(range(len(VOICES)), 2))  # (upper, lower) voice columns: soprano first


def _pitch_probs(probs: torch.Tensor, vocab: int) -> torch.Tensor:
    """[B, 4V, T] -> probability of each pitch's onset [B, 4, P, T]."""
    b, _, t = probs.shape
    return probs.view(b, len(VOICES), vocab, t)[:, :, FIRST_PITCH_TOKEN:FIRST_PITCH_TOKEN + NUM_PITCHES]


def pitch_class_autocorrelation(probs: torch.Tensor, vocab: int) -> torch.Tensor:
    """Batch mean of each fragment's pitch-class profile autocorrelation at lags 0..11: [12]."""
    pitches = _pitch_probs(probs, vocab).sum(dim=(1, 3))  # (B, P): onset mass per pitch
    classes = (torch.arange(NUM_PITCHES, device=probs.device) + PITCH_LOW) % 12
    profile = torch.zeros(len(pitches), 12, device=probs.device, dtype=probs.dtype)
    profile = profile.index_add(1, classes, pitches)  # (B, 12)
    profile = profile / profile.sum(dim=1, keepdim=True).clamp_min(1e-8)
    lags = torch.stack([(profile * profile.roll(-k, dims=1)).sum(dim=1) for k in range(12)], dim=1)  # (B, 12)
    return lags.mean(dim=0)


def interval_distributions(probs: torch.Tensor, vocab: int) -> torch.Tensor:
    """For each voice pair, the mean per step of the chance that both start a note at each signed interval:
    [pairs, 91] (a row sums to how often the two voices start notes together)."""
    pitches = _pitch_probs(probs, vocab)  # (B, 4, P, T)
    b, _, p, t = pitches.shape
    # The interval distribution at a step is the cross-correlation of the two voices' pitch distributions;
    # conv1d computes it for every (fragment, step) at once, the lower voice as a per-row kernel.
    out = []
    for upper, lower in PAIRS:
        hi = pitches[:, upper].permute(0, 2, 1).reshape(1, b * t, p)  # (1, B*T, P)
        lo = pitches[:, lower].permute(0, 2, 1).reshape(b * t, 1, p)  # (B*T, 1, P)
        corr = torch.nn.functional.conv1d(hi, lo, padding=p - 1, groups=b * t)  # (1, B*T, 2P-1): lag = hi - lo
        out.append(corr[0].mean(dim=0))  # (2P-1,): per step, the chance both start a note this far apart
    return torch.stack(out)  # (pairs, 2P-1), index P-1 is the unison


def harmony_features(probs: torch.Tensor, vocab: int) -> torch.Tensor:
    """Everything feature matching compares, as one vector."""
    return torch.cat([pitch_class_autocorrelation(probs, vocab), interval_distributions(probs, vocab).flatten()])


def feature_matching_loss(real: torch.Tensor, fake: torch.Tensor, vocab: int) -> torch.Tensor:
    """L1 distance between the real and the fake batch's harmony statistics (real ones carry no gradient)."""
    with torch.no_grad():
        target = harmony_features(real, vocab)
    return (harmony_features(fake, vocab) - target).abs().sum()
