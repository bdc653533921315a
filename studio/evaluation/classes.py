"""Mode-collapse readout from a reference classifier's predictions."""

from __future__ import annotations

import numpy as np

#: A class counts as covered when it gets at least this share of the uniform share (1% of samples for 10 classes).
COVERED_FRACTION_OF_UNIFORM = 0.1
#: Above this KL to uniform (nats) the class mix is flagged as collapsed.
COLLAPSE_KL = 0.1


def class_readout(predicted: np.ndarray, num_classes: int) -> dict[str, object]:
    """Class histogram, classes covered, KL(histogram || uniform) and a collapse flag."""
    counts = np.bincount(predicted, minlength=num_classes).astype(np.float64)
    hist = counts / max(1.0, counts.sum())
    nonzero = hist > 0
    kl = float((hist[nonzero] * np.log(hist[nonzero] * num_classes)).sum())
    covered = int((hist >= COVERED_FRACTION_OF_UNIFORM / num_classes).sum())
    return {
        "class_histogram": [round(float(h), 5) for h in hist],
        "classes_covered": covered,
        "kl_to_uniform": kl,
        "mode_collapse": bool(covered < num_classes or kl > COLLAPSE_KL),
    }
