"""How well an image generator steers, measured on the Fashion-MNIST test set.

- **Class accuracy:** the reference classifier reads the class asked for, on 1,000 samples per class (real test
  images score its test accuracy, 0.92).
- **CAS** (classification accuracy score, Ravuri & Vinyals 2019): a fresh classifier trained on those 10,000
  samples, tested on the real test images. It drops when a class's samples cover only part of the class.
- **Completion,** on the first 1,000 test images with each preset region hidden: whether the given pixels
  come back unchanged, whether the reference classifier reads the original's class in the completion (beside a
  baseline that fills the hole with the training mean), the completions' FD, and how much the hole varies
  over 8 seeds (a model that ignores its noise fills every hole one way).

Every number comes from the ONNX file through the runtime the app uses, with fixed seeds. CAS trains a
classifier with PyTorch, so it can move by about a point between CPUs; the others are exact up to the
classifier's float rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.evaluation.fidelity import frechet_distance
from studio.image.masks import PRESETS, preset_mask
from studio.image.metrics import ImageReference
from studio.onnx.runtime import OnnxGenerator

SEED = 2024
PER_CLASS = 1_000
COMPLETION_IMAGES = 1_000
SPREAD_IMAGES, SPREAD_SEEDS = 100, 8
CAS_EPOCHS = 4
#: how far a recomputed CAS may move from the recorded one on another host (absolute)
CAS_TOLERANCE = 0.01


def test_images(data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(test images uint8 [N, 28, 28, 1], their labels [N], the training mean image float [28, 28, 1])."""
    from studio.image.data import load_fashion_mnist

    splits = load_fashion_mnist(data_dir)
    train_mean = splits["train"].images.mean(0)[..., None]  # (28, 28, 1)
    return splits["test"].images[..., None], splits["test"].labels, train_mean


def class_samples(generator: OnnxGenerator, per_class: int = PER_CLASS, seed: int = SEED,
                  temperature: float = 1.0) -> tuple[np.ndarray, ...]:
    """(samples uint8 [C * per_class, 28, 28, 1], the class asked for [C * per_class])."""
    classes = len(generator.classes)
    samples = [generator.sample(per_class, seed=seed + c, label=c, temperature=temperature) for c in range(classes)]
    return np.concatenate(samples), np.repeat(np.arange(classes), per_class)


def class_accuracy(preds: np.ndarray, asked: np.ndarray, names: tuple[str, ...]) -> dict[str, Any]:
    per_class = [float((preds[asked == c] == c).mean()) for c in range(len(names))]
    worst = int(np.argmin(per_class))
    return {"class_accuracy": float((preds == asked).mean()), "class_accuracy_per_class": per_class,
            "worst_class": names[worst]}


def classification_accuracy_score(train_images: np.ndarray, train_labels: np.ndarray, test: np.ndarray,
                                  test_labels: np.ndarray, epochs: int = CAS_EPOCHS, seed: int = 0) -> float:
    """Train a small classifier on (train_images, train_labels), uint8 [N, 28, 28, 1]; its test accuracy."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, 32, 14, 14)
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, 64, 7, 7)
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 49, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def scaled(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (N, 1, 28, 28)

    x, y = scaled(train_images), torch.from_numpy(train_labels.astype(np.int64))
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 128):
            idx = order[i : i + 128]
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        preds = torch.cat([net(scaled(test[i : i + 1000])).argmax(1) for i in range(0, len(test), 1000)])
    return float((preds.numpy() == test_labels).mean())


def completion_scores(generator: OnnxGenerator, reference: ImageReference, images: np.ndarray, labels: np.ndarray,
                      train_mean: np.ndarray, seed: int = SEED,
                      temperature: float = 1.0) -> dict[str, dict[str, float]]:
    """Per preset region: kept, class agreement (and the mean-fill baseline's), FD (and the baseline's), spread."""
    real = reference.real_features[: len(images)]
    out = {}
    for name in PRESETS:
        mask = preset_mask(name)  # (28, 28, 1), 1 = given
        given = np.broadcast_to(mask, images.shape) > 0
        completed = generator.sample(len(images), seed=seed, mask=mask, visible=images, temperature=temperature)
        mean_fill = np.where(given, images, np.round(train_mean).astype(np.uint8))
        feats, preds = reference.embed(completed)
        base_feats, base_preds = reference.embed(mean_fill)
        kept = (completed == images) | ~given
        few = images[:SPREAD_IMAGES]
        draws = np.stack([generator.sample(len(few), seed=seed + 1 + s, mask=mask, visible=few, temperature=temperature)
                          for s in range(SPREAD_SEEDS)]).astype(np.float64)  # (seeds, n, 28, 28, 1)
        hole = ~given[:SPREAD_IMAGES]
        out[name] = {
            "kept": float(kept.reshape(len(images), -1).all(1).mean()),
            "agreement": float((preds == labels).mean()),
            "agreement_mean_fill": float((base_preds == labels).mean()),
            "fd": frechet_distance(feats, real),
            "fd_mean_fill": frechet_distance(base_feats, real),
            "spread": float(draws.std(0)[hole].mean()),
        }
    return out


def steering_metrics(generator: OnnxGenerator, reference: ImageReference, data_dir: str | None = None,
                     cas: bool = True, scale: float = 1.0, temperature: float = 1.0) -> dict[str, Any]:
    """Every steering number a conditional image generator supports (its ``conditions``), drawn at the model's
    ``temperature`` (its default, as the app draws); ``scale`` < 1 shrinks every sample count (quick checks; the
    recorded numbers use 1)."""
    images, labels, train_mean = test_images(data_dir)
    metrics: dict[str, Any] = {}
    if generator.info.takes("class"):
        samples, asked = class_samples(generator, per_class=max(10, round(PER_CLASS * scale)), temperature=temperature)
        metrics.update(class_accuracy(reference.embed(samples)[1], asked, generator.classes))
        if cas:
            metrics["cas"] = classification_accuracy_score(samples, asked, images, labels)
    if generator.info.takes("region"):
        n = max(SPREAD_IMAGES, round(COMPLETION_IMAGES * scale))
        metrics["completion"] = completion_scores(generator, reference, images[:n], labels[:n], train_mean,
                                                  temperature=temperature)
    return metrics


def real_steering(reference: ImageReference, data_dir: str | None = None) -> dict[str, float]:
    """The real rows: the reference classifier's accuracy on the test images, and CAS of 10,000 real training
    images (1,000 per class)."""
    from studio.image.data import load_fashion_mnist

    images, labels, _ = test_images(data_dir)
    train = load_fashion_mnist(data_dir)["train"]
    picked = np.concatenate([np.flatnonzero(train.labels == c)[:PER_CLASS] for c in range(10)])
    return {"class_accuracy": float((reference.embed(images)[1] == labels).mean()),
            "cas": classification_accuracy_score(train.images[picked][..., None], train.labels[picked], images,
                                                 labels)}


def steering_rows(steered: dict[str, dict[str, Any]]) -> list[str]:
    """A Markdown table of recorded steering numbers: one row per number, one column per model id. Besides the
    protocol's numbers a model's entry may hold ``temperature`` (what they were drawn at) and, per completion
    region, ``hidden_bits`` (the hidden pixels' NLL, from the training checkpoint of a likelihood model)."""

    def cell(steering: dict[str, Any], region: str | None, key: str, form: str) -> str:
        values = steering.get("completion", {}).get(region, {}) if region else steering
        return format(values[key], form) if key in values else "-"

    lines = [("drawn at temperature", None, "temperature", "g"), ("class accuracy", None, "class_accuracy", ".3f"),
             ("CAS", None, "cas", ".3f")]
    for region in PRESETS:
        lines += [(f"agreement, {region} hidden", region, "agreement", ".2f"),
                  ("… filled with the training mean", region, "agreement_mean_fill", ".2f"),
                  (f"spread, {region} hidden", region, "spread", ".1f")]
    lines += [(f"given pixels kept, {region} hidden", region, "kept", ".0%") for region in PRESETS]
    lines += [(f"NLL of the hidden pixels, {region} hidden (bits/dim)", region, "hidden_bits", ".3f")
              for region in PRESETS]
    rows = ["| | " + " | ".join(steered) + " |", "|---" * (1 + len(steered)) + "|"]
    return rows + [f"| {name} | " + " | ".join(cell(v, region, key, form) for v in steered.values()) + " |"
                   for name, region, key, form in lines]
