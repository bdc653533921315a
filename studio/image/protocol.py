"""The image evaluation protocol: 10,000 samples for seed 2024, scored against the Fashion-MNIST test set."""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.evaluation.protocol import Generator, Protocol
from studio.image.metrics import ImageReference, score_images

N_SAMPLES = 10_000
SEED = 2024


def draw(generator: Generator, n: int, seed: int) -> np.ndarray:
    return generator.sample(n, seed=seed)  # (n, 28, 28, 1) uint8


def score(images: np.ndarray, reference: ImageReference) -> dict[str, Any]:
    # A smaller sample is compared with as many test images, so FD and the k-NN metrics stay comparable.
    return score_images(images, reference, real_limit=None if len(images) >= N_SAMPLES else len(images))


def real_baseline(reference: ImageReference) -> dict[str, Any]:
    """10,000 real training images scored as if they were samples (needs the data set)."""
    from studio.image.data import load_fashion_mnist

    return score_images(load_fashion_mnist()["train"].images[:N_SAMPLES, ..., None], reference)


PROTOCOL = Protocol(
    modality="image", n_samples=N_SAMPLES, seed=SEED,
    open_reference=lambda device: ImageReference(device=device), draw=draw, score=score,
    real_baseline=real_baseline,
    real_baseline_what=f"{N_SAMPLES:,} real Fashion-MNIST training images against the test set",
)
