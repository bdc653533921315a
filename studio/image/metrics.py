"""Image metrics: a frozen reference classifier (trained once by scripts/train_reference.py) embeds samples;
its penultimate features give Fréchet distance, precision/recall and density/coverage against the
Fashion-MNIST test set, and its predictions give the mode-collapse readout. ONNX Runtime only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.evaluation.classes import class_readout
from studio.evaluation.fidelity import frechet_distance, manifold_metrics
from studio.onnx.runtime import make_session
from studio.registry.manifest import TRAINED_DIR

N_CLASSES_CHECK = 1_000  # classes_covered_1k: coverage within the first 1,000 samples

REFERENCE_DIR = TRAINED_DIR / "_reference"
CLASSIFIER = "classifier.onnx"
STATS = "fashion_mnist_test_features.npz"


class ReferenceMissing(FileNotFoundError):
    pass


class ImageReference:
    """The frozen classifier plus the test set's features, as committed in trained/_reference/."""

    def __init__(self, reference_dir: str | Path = REFERENCE_DIR, device: str = "auto"):
        reference_dir = Path(reference_dir)
        clf, stats = reference_dir / CLASSIFIER, reference_dir / STATS
        if not clf.exists() or not stats.exists():
            raise ReferenceMissing(
                f"the reference classifier is missing from {reference_dir}; "
                "rebuild it with `python scripts/train_reference.py`"
            )
        self.session = make_session(clf, device=device)
        data = np.load(stats)
        self.real_features = data["features"].astype(np.float32)  # (10000, 128)
        self.real_labels = data["labels"]
        self.num_classes = int(data["num_classes"])

    def embed(self, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """uint8 [N, 28, 28, 1] -> (features [N, 128], predicted class [N])."""
        feats, preds = [], []
        for i in range(0, len(images), batch_size):
            f, logits = self.session.run(["features", "logits"], {"image": images[i : i + batch_size]})
            feats.append(f)
            preds.append(logits.argmax(1))
        return np.concatenate(feats), np.concatenate(preds)


def score_images(images: np.ndarray, reference: ImageReference, real_limit: int | None = None) -> dict[str, object]:
    """All image metrics for generated ``images`` (uint8 [N, 28, 28, 1]) against the first ``real_limit``
    test images (all by default)."""
    feats, preds = reference.embed(images)
    real = reference.real_features[:real_limit] if real_limit else reference.real_features
    metrics: dict[str, object] = {"fd": frechet_distance(feats, real)}
    metrics.update(manifold_metrics(feats, real))
    metrics.update(class_readout(preds, reference.num_classes))
    metrics["classes_covered_1k"] = class_readout(preds[:N_CLASSES_CHECK], reference.num_classes)["classes_covered"]
    return metrics
