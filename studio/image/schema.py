"""The image metrics: what each recorded number is called and which way is better."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.evaluation.schema import Metric, MetricSchema

NUM_CLASSES = 10


def verdict(m: Mapping[str, Any]) -> str:
    if "classes_covered" not in m:
        return "not scored yet"
    if m["classes_covered"] < NUM_CLASSES:
        return f"⚠️ mode collapse: only {m['classes_covered']} of {NUM_CLASSES} classes get ≥ 1% of the samples"
    if m.get("mode_collapse"):
        return f"⚠️ unbalanced: every class is present, but the class KL to uniform is {m['kl_to_uniform']:.2f} (> 0.1)"
    return "balanced over all ten classes, no collapse flagged"


SCHEMA = MetricSchema(
    modality="image", sample_noun="images", verdict=verdict,
    metrics=(
        Metric("fd", "FD", "Fréchet distance of the reference classifier's features, samples vs the test set",
               "lower", 2),
        Metric("precision", "precision", "share of samples inside the test set's k-NN manifold, k=3 (fidelity)",
               "higher"),
        Metric("recall", "recall", "share of test images inside the samples' k-NN manifold, k=3 (diversity)",
               "higher"),
        Metric("density", "density", "samples per test image's k-NN ball, k=5, over k (about 1 for real data)"),
        Metric("coverage", "coverage", "share of test images with a sample in their k-NN ball, k=5", "higher"),
        Metric("classes_covered", "classes", "classes (of 10) that get at least 1% of the samples", "higher", 0),
        Metric("classes_covered_1k", "classes in 1k", "classes covered within the first 1,000 samples", "higher", 0),
        Metric("kl_to_uniform", "class KL", "KL divergence of the class histogram to uniform, nats (0 = balanced)",
               "lower", 4),
        Metric("mode_collapse", "collapse flagged", "a class under 1%, or a class KL over 0.1"),
    ),
    table=("fd", "precision", "recall", "density", "coverage", "classes_covered", "kl_to_uniform"),
    compared=("fd", "precision", "recall", "density", "coverage", "classes_covered", "classes_covered_1k",
              "kl_to_uniform"),
    legacy_likelihoods={"nll_bpd": "bits/dim", "neg_elbo_bpd": "bits/dim", "nll_bits_per_token": "bits/code token"},
)
