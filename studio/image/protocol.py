"""The image evaluation protocol: 10,000 samples for seed 2024, scored against the Fashion-MNIST test set.

A model with a sampling temperature is scored at its default one, recorded in its metrics.json as ``sampling``
and chosen on validation data (``scripts/choose_sampling.py``); without one, at temperature 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.evaluation.protocol import Generator, Protocol
from studio.image.metrics import ImageReference, score_images
from studio.onnx.runtime import AutoregressiveGenerator

N_SAMPLES = 10_000
SEED = 2024


def draw(generator: Generator, n: int, seed: int, temperature: float = 1.0, top_k: int = 0) -> np.ndarray:
    """(n, 28, 28, 1) uint8. A one-shot model scales its noise by ``temperature`` and has no top-k; the
    Transformer divides its logits by ``temperature`` and draws from the ``top_k`` likeliest codes (0: all)."""
    if isinstance(generator, AutoregressiveGenerator):
        return generator.sample(n, seed=seed, temperature=temperature, top_k=top_k)
    if top_k:
        raise ValueError(f"{generator.path} draws from noise, not tokens: it has no top-k")
    return generator.sample(n, seed=seed, temperature=temperature)


def score(images: np.ndarray, reference: ImageReference) -> dict[str, Any]:
    # A smaller sample is compared with as many test images, so FD and the k-NN metrics stay comparable.
    return score_images(images, reference, real_limit=None if len(images) >= N_SAMPLES else len(images))


def real_baseline(reference: ImageReference) -> dict[str, Any]:
    """10,000 real training images scored as if they were samples (needs the data set)."""
    from studio.image.data import load_fashion_mnist

    return score_images(load_fashion_mnist()["train"].images[:N_SAMPLES, ..., None], reference)


#: Fashion-MNIST has no validation split: sampling settings are chosen against these training images' features,
#: so the test set, which every recorded number is scored against, plays no part in the choice.
VALIDATION_IMAGES = slice(50_000, 60_000)


def validation_reference(reference: ImageReference, data_dir: str | None = None) -> ImageReference:
    """``reference`` scoring against 10,000 training images instead of the test set (needs the data set)."""
    import copy

    from studio.image.data import load_fashion_mnist

    images = load_fashion_mnist(data_dir)["train"]
    validation = copy.copy(reference)
    validation.real_features = reference.embed(images.images[VALIDATION_IMAGES, ..., None])[0]  # (10000, 128)
    validation.real_labels = images.labels[VALIDATION_IMAGES]
    return validation


PROTOCOL = Protocol(
    modality="image", n_samples=N_SAMPLES, seed=SEED,
    open_reference=lambda device: ImageReference(device=device), draw=draw, score=score,
    real_baseline=real_baseline,
    real_baseline_what=f"{N_SAMPLES:,} real Fashion-MNIST training images against the test set",
    sampling_options=("temperature", "top_k"), head_tolerance=2.0,
    steering=lambda generator, reference, n, sampling: _steering(generator, reference, n, sampling),
    steering_tolerance={"cas": 0.01},
)


def _steering(generator: Generator, reference: ImageReference, n: int, sampling: dict[str, Any]) -> dict[str, Any]:
    """The steering checks at the protocol's size for 10,000 samples (1,000 per class, 1,000 completions per
    region), scaled down with a smaller evaluation (tests, tiny presets), at the ``sampling`` temperature."""
    from studio.image.steering import steering_metrics  # loads the data set: only for conditional models

    return steering_metrics(generator, reference, scale=min(1.0, n / N_SAMPLES),
                            temperature=sampling.get("temperature", 1.0))
