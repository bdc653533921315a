"""Music metrics: rule-based and distribution metrics on SATB token grids.

Every generator's samples (int [N, T, 4], T a whole number of bars starting on a downbeat)
are scored by ``music_metrics(samples, reference)``, one flat dict with constant keys:

====================  =========================================================  =========  ===================
key                   what it measures (one line)                                good       held-out
====================  =========================================================  =========  ===================
n_samples             how many samples were scored                               -          3021
pitch_class_kl        KL(samples || held-out), key-relative pitch classes, nats  low        0.006*
out_of_range          share of notes outside their voice's range (pooled)        low        0.032
out_of_range_<voice>  the same for soprano / alto / tenor / bass                 low        .018/.011/.047/.047
voice_crossing        share of sounding steps where a lower voice is above       low        0.017
parallel_5_8          share of two-voice moves that are parallel P5/P8           low        0.0012
consonance_on_beats   share of beat verticals that are consonant                 high       0.74
note_density          onsets per voice per bar                                   near 4.3   4.26
rest_share            share of (step, voice) cells that are silent               near 0.03  0.031
novelty               share of 2-bar windows not verbatim in the training data   high       0.997
distinct_fragments    share of samples that are pairwise distinct                ~1         1.0
verticals_per_bar     distinct 4-voice sonorities per sample, per bar            near 5.8   5.78
collapsed             distinct_fragments < 0.5 or verticals_per_bar < 1          False      False
fd                    FD of 50 hand-made music features, samples vs held-out     low        0.073*
====================  =========================================================  =========  ===================

The held-out column is ``reference_row`` on the default reference (29 held-out pieces in every
allowed transposition, 3021 fragments of 4 bars, music21 10.5.1 corpus); * marks the two
distribution terms, computed half of the held-out pieces against the other half. For scale:
2000 training fragments score KL 0.005 and FD 0.025 against the held-out set; uniform random
tokens score KL 0.46 and FD 36; one chord held for 4 bars scores FD 5.6 and is collapsed.

``reference_row(reference)`` gives what the held-out Bach chorales themselves score, for the
app to show beside each generator. All of it is numpy; nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.evaluation.fidelity import frechet_distance
from studio.music.data import (
    FIRST_PITCH_TOKEN,
    FRAGMENT_STEPS,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    VOICE_RANGES,
    VOICES,
    ChoraleSplit,
    augment,
    canonical,
    check_grids,
    sounding_pitches,
    windows,
)

PC_EPS = 1e-4  # added to every pitch-class probability before the KL (then renormalised)
NOVELTY_STEPS = 2 * STEPS_PER_BAR  # 2-bar windows
CONSONANT_WITH_BASS = frozenset({0, 3, 4, 7, 8, 9})  # P1/P8, m3, M3, P5, m6, M6 (mod 12)
CONSONANT_UPPER = CONSONANT_WITH_BASS | {5}  # a fourth is consonant between upper voices
#: Collapse: most samples identical, or samples change sonority less than once a bar
#: (Bach's held-out fragments have about 5.8 distinct sonorities per bar).
COLLAPSE_DISTINCT_BELOW = 0.5
COLLAPSE_VERTICALS_BELOW = 1.0
_PAIRS = [(i, j) for i in range(4) for j in range(i + 1, 4)]  # (higher voice, lower voice)
# Krumhansl & Kessler (1982) key profiles, tonic first.
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _share(num: float, den: float) -> float:
    """num / den, or 0.0 when there is nothing to count (e.g. no notes at all)."""
    return float(num) / float(den) if den else 0.0


# --- pitch classes, relative to the key ------------------------------------------------------------
def pitch_class_counts(samples: np.ndarray) -> np.ndarray:
    """float [N, 12]: sounding 16th steps per pitch class (duration-weighted), all voices."""
    pitches = sounding_pitches(samples)  # (N, T, 4), -1 silent
    n = len(samples)
    rows = np.repeat(np.arange(n), pitches.shape[1] * pitches.shape[2])  # (N*T*4,)
    flat = pitches.reshape(-1)
    counts = np.zeros((n, 12))
    np.add.at(counts, (rows[flat >= 0], flat[flat >= 0] % 12), 1.0)
    return counts


def _zscore(rows: np.ndarray) -> np.ndarray:
    return (rows - rows.mean(-1, keepdims=True)) / (rows.std(-1, keepdims=True) + 1e-9)


def estimate_tonic(counts: np.ndarray) -> np.ndarray:
    """int [N]: the major-mode tonic pitch class of each histogram's best Krumhansl-Kessler key.

    Minor keys are reported by their relative major (A minor -> C), so rotating by it aligns
    every diatonic collection; silent samples get 0.
    """
    profiles = np.stack([np.roll(p, k) for p in (_KK_MAJOR, _KK_MINOR) for k in range(12)])  # (24, 12)
    corr = _zscore(counts) @ _zscore(profiles).T  # (N, 24), 12 x Pearson correlation
    best = corr.argmax(1)
    return np.where(best < 12, best, (best - 12 + 3) % 12)


def key_relative_counts(samples: np.ndarray) -> np.ndarray:
    """float [N, 12]: pitch-class counts rotated so index 0 is the estimated (major-mode) tonic."""
    counts = pitch_class_counts(samples)
    tonic = estimate_tonic(counts)
    idx = (np.arange(12)[None, :] + tonic[:, None]) % 12  # (N, 12)
    return np.take_along_axis(counts, idx, axis=1)


def pitch_class_distribution(samples: np.ndarray, eps: float = PC_EPS) -> np.ndarray:
    """float [12]: the pooled key-relative pitch-class distribution, eps-smoothed."""
    total = key_relative_counts(samples).sum(0)
    p = total / total.sum() if total.sum() else np.full(12, 1 / 12)
    return (p + eps) / (1 + 12 * eps)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats for smoothed distributions (no zeros)."""
    return float(np.sum(p * np.log(p / q)))


# --- rules ---------------------------------------------------------------------------------------
def out_of_range_shares(samples: np.ndarray) -> dict[str, float]:
    """Share of note onsets outside VOICE_RANGES, pooled and per voice."""
    onsets = samples >= FIRST_PITCH_TOKEN  # (N, T, 4)
    pitches = sounding_pitches(samples)
    lo = np.array([r[0] for r in VOICE_RANGES])
    hi = np.array([r[1] for r in VOICE_RANGES])
    outside = onsets & ((pitches < lo) | (pitches > hi))  # broadcast over the voice axis
    out = {"out_of_range": _share(outside.sum(), onsets.sum())}
    for v, name in enumerate(VOICES):
        out[f"out_of_range_{name}"] = _share(outside[..., v].sum(), onsets[..., v].sum())
    return out


def voice_crossing_rate(samples: np.ndarray) -> float:
    """Share of steps with >= 2 voices sounding where some lower voice sounds above a higher one."""
    p = sounding_pitches(samples)  # (N, T, 4)
    crossed = np.zeros(p.shape[:2], dtype=bool)
    for i, j in _PAIRS:
        crossed |= (p[..., i] >= 0) & (p[..., j] >= 0) & (p[..., j] > p[..., i])
    counted = (p >= 0).sum(-1) >= 2
    return _share((crossed & counted).sum(), counted.sum())


def parallel_fifths_octaves(samples: np.ndarray) -> tuple[int, int]:
    """(parallel P5/P8 moves, all moves where both voices of a pair change pitch).

    For each pair of voices, a *move* is a step t where both sound at t-1 and t and both change
    pitch; consecutive note changes are thus compared directly (rests break the chain). It is a
    parallel when both move in the same direction and the interval (mod 12) is 7 before and
    after (fifths, compound included), or 0 before and after (octaves/unisons).
    """
    p = sounding_pitches(samples)  # (N, T, 4)
    before, after = p[:, :-1], p[:, 1:]  # (N, T-1, 4)
    parallels = moves = 0
    for i, j in _PAIRS:
        sound = (before[..., i] >= 0) & (before[..., j] >= 0) & (after[..., i] >= 0) & (after[..., j] >= 0)
        d_i, d_j = after[..., i] - before[..., i], after[..., j] - before[..., j]
        both = sound & (d_i != 0) & (d_j != 0)
        ic_before = np.abs(before[..., i] - before[..., j]) % 12
        ic_after = np.abs(after[..., i] - after[..., j]) % 12
        perfect = ((ic_before == 7) & (ic_after == 7)) | ((ic_before == 0) & (ic_after == 0))
        parallels += int((both & (np.sign(d_i) == np.sign(d_j)) & perfect).sum())
        moves += int(both.sum())
    return parallels, moves


def consonance_on_beats(samples: np.ndarray) -> float:
    """Share of quarter-note beats (bass + >= 1 upper voice sounding) whose vertical is consonant.

    Consonant: every upper voice forms P1/P8, m3, M3, P5, m6 or M6 (mod 12) with the bass, and
    upper voices form those or a P4 among themselves.
    """
    p = sounding_pitches(samples)[:, ::STEPS_PER_QUARTER]  # (N, beats, 4)
    sound = p >= 0
    ok = np.ones(p.shape[:2], dtype=bool)
    for i, j in _PAIRS:
        allowed = CONSONANT_WITH_BASS if j == 3 else CONSONANT_UPPER
        ic = np.abs(p[..., i] - p[..., j]) % 12
        ok &= ~(sound[..., i] & sound[..., j]) | np.isin(ic, list(allowed))
    counted = sound[..., 3] & sound[..., :3].any(-1)
    return _share((ok & counted).sum(), counted.sum())


def density_and_rests(samples: np.ndarray) -> tuple[float, float]:
    """(onsets per voice per bar, share of silent (step, voice) cells)."""
    n, t, v = samples.shape
    onsets = (samples >= FIRST_PITCH_TOKEN).sum()
    silent = (sounding_pitches(samples) < 0).sum()
    return _share(onsets, n * v * t / STEPS_PER_BAR), _share(silent, n * t * v)


# --- novelty and collapse ------------------------------------------------------------------------
def window_hashes(windows_: np.ndarray) -> np.ndarray:
    """uint64 [W]: a 64-bit hash of each int window [W, steps, 4] (tokens < 256).

    The 4*steps token bytes are read as 64-bit words and folded FNV-style, then avalanched;
    for a few million windows a collision is vanishingly unlikely (~1e-7).
    """
    flat = np.ascontiguousarray(windows_.reshape(len(windows_), -1).astype(np.uint8))  # (W, 4*steps)
    pad = (-flat.shape[1]) % 8
    words = np.pad(flat, ((0, 0), (0, pad))).view(np.uint64)  # (W, ceil(4*steps/8))
    h = np.full(len(flat), 0xCBF29CE484222325, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(words.shape[1]):
            h = (h ^ words[:, k]) * np.uint64(0x100000001B3)
            h ^= h >> np.uint64(29)
        h = (h ^ (h >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
    return h


def training_window_index(train_grids: list[np.ndarray], steps: int = NOVELTY_STEPS) -> np.ndarray:
    """Sorted unique uint64 hashes of every ``steps``-long training window, at every 16th offset."""
    parts = [window_hashes(windows([g], steps, hop=1)) for g in train_grids]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


def novelty(samples: np.ndarray, train_index: np.ndarray, steps: int = NOVELTY_STEPS) -> float:
    """Share of the samples' 2-bar windows (every 16th offset) found nowhere in the training data."""
    hashes = window_hashes(windows(samples, steps, hop=1))
    if not len(hashes):
        return 0.0
    pos = np.searchsorted(train_index, hashes).clip(0, max(len(train_index) - 1, 0))
    found = train_index[pos] == hashes if len(train_index) else np.zeros(len(hashes), dtype=bool)
    return float(1.0 - found.mean())


def distinct_fragment_share(samples: np.ndarray) -> float:
    """Distinct samples / samples: 1/N when a generator always writes the same thing."""
    return _share(len(np.unique(samples.reshape(len(samples), -1), axis=0)), len(samples))


def verticals_per_bar(samples: np.ndarray) -> float:
    """Mean over samples of (distinct 4-voice sonorities, rests included) / bars."""
    p = sounding_pitches(samples) + 1  # (N, T, 4), 0 = silent, < 128
    codes = (p * (128 ** np.arange(4))).sum(-1)  # (N, T): one int per vertical
    codes = np.sort(codes, axis=1)
    distinct = 1 + (np.diff(codes, axis=1) != 0).sum(1)  # (N,)
    return float(distinct.mean() / (samples.shape[1] / STEPS_PER_BAR))


# --- Frechet distance on music features -----------------------------------------------------------
_INTERVAL_BINS = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 128])  # |semitones| edges -> 10 bins


def _melodic_interval_hist(samples: np.ndarray) -> np.ndarray:
    """float [N, 10]: |interval| between consecutive notes of each voice (rests skipped), normalised."""
    n, t, _ = samples.shape
    onsets = samples >= FIRST_PITCH_TOKEN  # (N, T, 4)
    last = np.maximum.accumulate(np.where(onsets, np.arange(t)[:, None], -1), axis=1)  # last onset <= t
    prev = np.concatenate([np.full((n, 1, 4), -1), last[:, :-1]], axis=1)  # last onset < t
    has_prev = onsets & (prev >= 0)
    prev_tokens = np.take_along_axis(samples, prev.clip(0), axis=1)
    bins = np.digitize(np.abs(samples - prev_tokens), _INTERVAL_BINS[1:-1])  # (N, T, 4) in 0..9
    rows = np.broadcast_to(np.arange(n)[:, None, None], samples.shape)
    out = np.zeros((n, len(_INTERVAL_BINS) - 1))
    np.add.at(out, (rows[has_prev], bins[has_prev]), 1.0)
    return out / np.maximum(out.sum(1, keepdims=True), 1)


def _bass_interval_hist(samples: np.ndarray) -> np.ndarray:
    """float [N, 12]: interval classes of upper voices above the bass on beats, normalised."""
    p = sounding_pitches(samples)[:, ::STEPS_PER_QUARTER]  # (N, beats, 4)
    out = np.zeros((len(samples), 12))
    for v in range(3):
        both = (p[..., v] >= 0) & (p[..., 3] >= 0)
        ic = np.abs(p[..., v] - p[..., 3]) % 12
        rows = np.broadcast_to(np.arange(len(samples))[:, None], ic.shape)
        np.add.at(out, (rows[both], ic[both]), 1.0)
    return out / np.maximum(out.sum(1, keepdims=True), 1)


def music_features(samples: np.ndarray) -> np.ndarray:
    """float64 [N, 50] per fragment, on comparable scales (shares, octaves, notes per beat).

    key-relative pitch-class histogram (12), mean and spread of each voice's pitch in octaves
    around C4 (4 + 4), melodic interval histogram (10), beat intervals above the bass (12),
    onsets per voice per beat (4), silent share per voice (4).
    """
    samples = np.asarray(samples, dtype=np.int64)
    t = samples.shape[1]
    pc = key_relative_counts(samples)
    pc = pc / np.maximum(pc.sum(1, keepdims=True), 1)
    pitches = sounding_pitches(samples).astype(float)  # (N, T, 4)
    sounding = pitches >= 0
    count = np.maximum(sounding.sum(1), 1)  # (N, 4)
    mean = np.where(sounding, pitches, 0).sum(1) / count
    spread = np.sqrt(np.where(sounding, (pitches - mean[:, None]) ** 2, 0).sum(1) / count)
    mean_oct = np.where(sounding.any(1), (mean - 60) / 12, 0.0)
    onsets = (samples >= FIRST_PITCH_TOKEN).sum(1) / (t / STEPS_PER_QUARTER)  # (N, 4)
    silent = 1.0 - sounding.mean(1)  # (N, 4)
    return np.concatenate([pc, mean_oct, spread / 12, _melodic_interval_hist(samples),
                           _bass_interval_hist(samples), onsets, silent], axis=1)


# --- the protocol ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MusicReference:
    """What samples are compared with: held-out fragments and the training windows' hashes."""

    heldout: np.ndarray  # int64 [M, FRAGMENT_STEPS, 4]
    heldout_pieces: np.ndarray  # str [M], the piece each held-out fragment comes from
    heldout_features: np.ndarray  # float64 [M, 50]
    train_index: np.ndarray  # uint64 [K], sorted unique 2-bar window hashes of the train split


def make_reference(heldout_grids: list[np.ndarray], heldout_ids: list[str],
                   train_grids: list[np.ndarray], steps: int = FRAGMENT_STEPS) -> MusicReference:
    """Cut held-out fragments (bar hop) and index the training windows."""
    frags, pieces = [], []
    for grid, pid in zip(heldout_grids, heldout_ids):
        f = windows([grid], steps, STEPS_PER_BAR)
        frags.append(f)
        pieces.extend([pid] * len(f))
    heldout = np.concatenate(frags) if frags else np.zeros((0, steps, 4), dtype=np.int64)
    return MusicReference(heldout, np.asarray(pieces, dtype=str), music_features(heldout),
                          training_window_index(train_grids))


def build_reference(splits: dict[str, ChoraleSplit] | None = None, transpose_heldout: bool = True,
                    steps: int = FRAGMENT_STEPS) -> MusicReference:
    """The protocol's reference from the cached chorales (``studio.music.data.load_chorales``).

    The held-out pieces are transposed like the training pieces (``transpose_heldout``) because
    generators learn the transposed distribution: a perfect one writes in every key the
    augmentation allows, and its pitch statistics should be compared with the same spread.
    """
    if splits is None:
        from studio.music.data import load_chorales

        splits = load_chorales()
    valid = splits["valid"]
    if transpose_heldout:
        valid = augment(valid.grids, valid.piece_ids)
    return make_reference(valid.grids, valid.piece_ids, splits["train"].grids, steps)


def music_metrics(samples: np.ndarray, reference: MusicReference) -> dict[str, float | int | bool]:
    """Every music metric of ``samples`` (int [N, T, 4]) against ``reference``; constant keys."""
    samples = canonical(check_grids(samples, min_steps=NOVELTY_STEPS))
    return _metrics(samples, reference.heldout, reference.heldout_features, reference.train_index)


def _metrics(samples: np.ndarray, real: np.ndarray, real_features: np.ndarray,
             train_index: np.ndarray) -> dict[str, float | int | bool]:
    density, rests = density_and_rests(samples)
    parallels, moves = parallel_fifths_octaves(samples)
    distinct, verticals = distinct_fragment_share(samples), verticals_per_bar(samples)
    return {
        "n_samples": len(samples),
        "pitch_class_kl": kl_divergence(pitch_class_distribution(samples), pitch_class_distribution(real)),
        **out_of_range_shares(samples),
        "voice_crossing": voice_crossing_rate(samples),
        "parallel_5_8": _share(parallels, moves),
        "consonance_on_beats": consonance_on_beats(samples),
        "note_density": density,
        "rest_share": rests,
        "novelty": novelty(samples, train_index),
        "distinct_fragments": distinct,
        "verticals_per_bar": verticals,
        "collapsed": bool(distinct < COLLAPSE_DISTINCT_BELOW or verticals < COLLAPSE_VERTICALS_BELOW),
        "fd": frechet_distance(music_features(samples), real_features),
    }


def reference_row(reference: MusicReference) -> dict[str, float | int | bool]:
    """What real held-out Bach scores, in the same keys as ``music_metrics``.

    Rule metrics, novelty and diversity are those of all held-out fragments. Scoring the
    held-out set against itself would make pitch_class_kl and fd 0 by
    construction, so those two compare one half of the held-out pieces with the other half
    (whole pieces on each side): the floor that sampling noise alone puts under a generator.
    """
    row = _metrics(canonical(reference.heldout), reference.heldout, reference.heldout_features,
                   reference.train_index)
    pieces = np.unique(reference.heldout_pieces)
    first = np.isin(reference.heldout_pieces, pieces[::2])
    a, b = reference.heldout[first], reference.heldout[~first]
    row["pitch_class_kl"] = kl_divergence(pitch_class_distribution(a), pitch_class_distribution(b))
    row["fd"] = frechet_distance(reference.heldout_features[first],
                                               reference.heldout_features[~first])
    return row
