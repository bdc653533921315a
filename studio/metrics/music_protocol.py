"""The music evaluation protocol: draw fragments from an ONNX generator with a fixed seed, score them.

Every music generator is scored the same way, through the runtime the app uses: ``N_SAMPLES``
4-bar fragments for ``SEED`` (one-shot models from seeded noise; the Transformer from BOS at
temperature 1), against the held-out chorales in every allowed transposition
(``studio.metrics.music.build_reference``). The held-out pieces' own scores are recorded beside
the model's as ``<key>_real``, so the app can show them without the data. Numpy and ORT only.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

from studio.metrics.music import MusicReference, build_reference, music_metrics, reference_row
from studio.music_sampling import draw_fragments
from studio.runtime import load_generator

N_SAMPLES = 2000
SEED = 2024
#: reference_row keys not copied as ``<key>_real`` (a count, and a verdict that is False by construction)
NOT_RECORDED_REAL = ("n_samples", "collapsed")


@functools.lru_cache(maxsize=2)
def default_reference(cache_dir: str | None = None) -> MusicReference:
    """The protocol's reference, from the cached chorales (raises DataMissing naming the set-up script)."""
    from studio.data.music import load_chorales

    return build_reference(load_chorales(cache_dir))


def real_columns(reference: MusicReference) -> dict[str, float | int | bool]:
    """What the held-out chorales score, as ``<key>_real`` entries."""
    return {f"{k}_real": v for k, v in reference_row(reference).items() if k not in NOT_RECORDED_REAL}


def evaluate_generator(onnx_path: str | Path, n_samples: int = N_SAMPLES, seed: int = SEED,
                       reference: MusicReference | None = None, device: str = "auto") -> dict[str, object]:
    """Draw ``n_samples`` fragments with ``seed`` from the ONNX generator and score them against the reference."""
    reference = reference or default_reference()
    generator = load_generator(onnx_path, device=device)
    if generator.info.modality != "music":
        raise ValueError(f"{onnx_path} is a {generator.info.modality} generator, not a music one")
    t0 = time.perf_counter()
    samples = draw_fragments(generator, n_samples, seed=seed)
    seconds = time.perf_counter() - t0
    metrics: dict[str, object] = dict(music_metrics(samples, reference))
    metrics.update(real_columns(reference))
    metrics.update({"n_samples": n_samples, "seed": seed, "eval_samples_per_s": n_samples / seconds,
                    "provider": generator.provider})
    return metrics


def real_baseline(reference: MusicReference | None = None) -> dict[str, float | int | bool]:
    """The held-out fragments scored as if they were samples (see ``reference_row``)."""
    return reference_row(reference or default_reference())
