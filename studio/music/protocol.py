"""The music evaluation protocol: 2,000 4-bar fragments for seed 2024, scored against the held-out chorales.

One-shot models draw from seeded noise; the Transformer writes from its start token at temperature 1.
The reference is the 29 held-out chorales in every allowed transposition (``build_reference``). What
they score themselves is recorded beside the model's numbers as ``<key>_real``, so the app can show
it without the data. Numpy and ONNX Runtime only.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from studio.evaluation.protocol import Protocol
from studio.music.metrics import MusicReference, build_reference, music_metrics, reference_row
from studio.music.sampling import draw_fragments

N_SAMPLES = 2000
SEED = 2024
#: reference_row keys not copied as ``<key>_real`` (a count, and a verdict that is False by construction)
NOT_RECORDED_REAL = ("n_samples", "collapsed")


@functools.lru_cache(maxsize=2)
def default_reference(cache_dir: str | None = None) -> MusicReference:
    """The protocol's reference, from the cached chorales (raises DataMissing naming the set-up script)."""
    from studio.music.data import load_chorales

    return build_reference(load_chorales(cache_dir))


def real_columns(reference: MusicReference) -> dict[str, Any]:
    """What the held-out chorales score, as ``<key>_real`` entries."""
    return {f"{k}_real": v for k, v in reference_row(reference).items() if k not in NOT_RECORDED_REAL}


def score(samples: np.ndarray, reference: MusicReference) -> dict[str, Any]:
    return {**music_metrics(samples, reference), **real_columns(reference)}


PROTOCOL = Protocol(
    modality="music", n_samples=N_SAMPLES, seed=SEED, open_reference=lambda device: default_reference(),
    draw=lambda generator, n, seed: draw_fragments(generator, n, seed=seed), score=score,
    real_baseline=reference_row,
    real_baseline_what="the held-out Bach chorales (every allowed key; the distribution terms compare one half of "
                       "the pieces with the other)",
)
