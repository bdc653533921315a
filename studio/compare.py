"""Side-by-side comparison helpers for the app: tables and chart frames from recorded metrics,
live re-scoring, and latent interpolation. Numpy/pandas only (no torch, no gradio)."""

from __future__ import annotations

import functools
import time

import numpy as np
import pandas as pd

from studio.runtime import seeded_noise
from studio.serving import ModelRegistry

TABLE_COLUMNS = (
    ("fd", "FD ↓"), ("precision", "precision"), ("recall", "recall"), ("density", "density"),
    ("coverage", "coverage"), ("classes_covered", "classes"), ("kl_to_uniform", "class KL ↓"),
)
SHARE_METRICS = ("precision", "recall", "density", "coverage")


def bits_per_dim(metrics: dict) -> tuple[float | None, str]:
    """The model's test bits/dim and what kind of number it is ('' when it has none)."""
    if "nll_bpd" in metrics:
        return float(metrics["nll_bpd"]), "exact (dequantized)"
    if "neg_elbo_bpd" in metrics:
        return float(metrics["neg_elbo_bpd"]), "bound (ELBO)"
    return None, ""


#: (metrics key, unit) of every likelihood a model may record, in the order they are looked for
LIKELIHOODS = (("nll_bpd", "bits/dim"), ("neg_elbo_bpd", "bits/dim"), ("nll_bits_per_token", "bits/token (codes)"),
               ("nll_bits_per_char", "bits/char"), ("neg_elbo_bits_per_char", "bits/char"))


def likelihood_label(metrics: dict) -> str:
    """The table's likelihood cell: the recorded test likelihood with its unit and kind, else a dash."""
    for key, unit in LIKELIHOODS:
        if key in metrics:
            if key.startswith("neg_elbo"):
                kind = ", bound (ELBO)"
            elif "dequantized" in str(metrics.get("likelihood_kind", "")):
                kind = ", exact (dequantized)"
            else:
                kind = ""
            return f"{float(metrics[key]):.3f} {unit}{kind}"
    return "—"


def metrics_table(registry: ModelRegistry, modality: str, live: dict[str, dict] | None = None,
                  columns: tuple[tuple[str, str], ...] = TABLE_COLUMNS) -> pd.DataFrame:
    """One row per model: recorded (or live re-scored) metrics, likelihood, size and speed."""
    rows = []
    for model_id in registry.ids(modality):
        model = registry.get(model_id)
        m = (live or {}).get(model_id) or model.metrics
        row = {"model": model_id, "family": model.entry["family"]}
        for key, label in columns:
            value = m.get(key)
            row[label] = round(float(value), 4) if isinstance(value, float) else value
        row["likelihood"] = likelihood_label(model.metrics)
        row["params"] = model.metrics.get("params")
        row["ONNX KiB"] = round(model.metrics.get("onnx_bytes", 0) / 1024)
        row["samples/s"] = round(m.get("eval_samples_per_s", 0.0))
        row["scored on"] = f"{m.get('n_samples', '?')} samples" + (" (live)" if live and model_id in live else "")
        rows.append(row)
    return pd.DataFrame(rows)


def share_metrics_frame(table: pd.DataFrame, metrics: tuple[str, ...] = SHARE_METRICS) -> pd.DataFrame:
    """Long format for a grouped bar chart of the [0, 1] metrics."""
    if table.empty:  # no models of this modality: an empty chart, not a crash
        return pd.DataFrame({"model": [], "metric": [], "value": []}).astype({"value": float})
    long = table.melt(id_vars=["model"], value_vars=[c for c in metrics if c in table], var_name="metric")
    return long.astype({"value": float})


def histogram_frame(hist: list[float] | None, class_names: tuple[str, ...]) -> pd.DataFrame:
    shares = hist if hist else [0.0] * len(class_names)
    return pd.DataFrame({"class": list(class_names), "share": shares})


def curves_frame(curves: dict, max_series: int = 4) -> pd.DataFrame:
    """The loss curves of one model in long format (step, value, series)."""
    series = {k: v for k, v in curves.get("series", {}).items() if k.endswith("/loss") or k.startswith("eval/")}
    series = {k: series[k] for k in list(series)[:max_series]}
    rows = [(p[0], p[1], name) for name, points in series.items() for p in points]
    return pd.DataFrame(rows, columns=["step", "value", "series"])


def slerp_noise(z_dim: int, seed_a: int, seed_b: int, frames: int) -> np.ndarray:
    """Spherical interpolation between the noise of two seeds: float32 [frames, z_dim].

    Gaussian noise lives near a sphere; straight lines between two draws pass through
    low-norm points a generator rarely saw, so the path follows the great circle instead.
    """
    a, b = seeded_noise(1, z_dim, seed_a)[0], seeded_noise(1, z_dim, seed_b)[0]
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    ts = np.linspace(0.0, 1.0, frames)
    if omega < 1e-6:
        return np.stack([(1 - t) * a + t * b for t in ts]).astype(np.float32)
    out = [(np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega) for t in ts]
    return np.stack(out).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _image_reference():  # noqa: ANN202 - loaded on the first re-score, then kept
    from studio.metrics.image import ImageReference

    return ImageReference(device="cpu")


def rescore(registry: ModelRegistry, modality: str, n_samples: int, seed: int) -> dict[str, dict]:
    """Recompute every available model's metrics live, on ``n_samples`` samples."""
    from studio.metrics.image import score_images

    reference = _image_reference()
    results = {}
    for model_id in registry.ids(modality):
        model = registry.get(model_id)
        if not model.available:
            continue
        t0 = time.perf_counter()
        images = model.generator.sample(n_samples, seed=seed)
        speed = n_samples / (time.perf_counter() - t0)
        m = score_images(images, reference, real_limit=n_samples)
        m.update({"n_samples": n_samples, "seed": seed, "eval_samples_per_s": speed})
        results[model_id] = m
    return results
