"""Quality against diversity across sampling temperature (Caccia et al. 2020, "Language GANs Falling Short").

A single temperature compares models at one arbitrary point of a trade-off: a lower temperature buys
quality with diversity. Sweeping it draws each model's whole curve, real-word share (quality) against
distinct-2 (diversity), and a model is better only where its curve lies above and to the right of another's.
Every text model takes a temperature: the Transformer divides its logits by it, the VAE and the flow scale
the noise that picks each character, the GAN scales its input noise.

The sweep is scored by the text protocol's metrics on ``N_SAMPLES`` lines per temperature and written to
``<model>/temperature.json`` by ``scripts/temperature_curves.py``; the app only reads it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studio.evaluation.protocol import Generator
from studio.text.metrics import TextReference, score_lines
from studio.text.protocol import SEED, sample_lines

TEMPERATURES = (0.5, 0.75, 1.0, 1.25, 1.5)
N_SAMPLES = 1_000
FILE = "temperature.json"
KEPT = ("real_word_share", "distinct_2", "ref_perplexity", "degenerate_share", "char3_js")


def sweep(generator: Generator, reference: TextReference, n_samples: int = N_SAMPLES, seed: int = SEED,
          temperatures: tuple[float, ...] = TEMPERATURES) -> dict[str, Any]:
    """The model's metrics (``KEPT``) at each temperature, on ``n_samples`` lines drawn with ``seed``."""
    points = []
    for t in temperatures:
        metrics = score_lines(sample_lines(generator, n_samples, seed=seed, temperature=t), reference)
        points.append({"temperature": t, **{k: float(metrics[k]) for k in KEPT}})
    real = score_lines(reference.valid_lines[:n_samples], reference)
    return {"n_samples": n_samples, "seed": seed, "points": points,
            "real": {k: float(real[k]) for k in KEPT}}


def read_curve(model_dir: str | Path) -> dict[str, Any] | None:
    """A model's recorded sweep, or None when it has none (or the file is unreadable)."""
    try:
        return json.loads((Path(model_dir) / FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def markdown_table(curves: dict[str, dict[str, Any]]) -> str:
    """One row per model and temperature: real words, distinct-2, reference perplexity, degenerate lines."""
    rows = ["| model | temperature | real words ↑ | distinct-2 ↑ | ref. perplexity ↓ | degenerate lines ↓ |",
            "|---|---|---|---|---|---|"]
    for model, curve in curves.items():
        for p in curve["points"]:
            rows.append(f"| {model} | {p['temperature']:g} | {p['real_word_share']:.0%} | {p['distinct_2']:.2f} | "
                        f"{p['ref_perplexity']:.1f} | {p['degenerate_share']:.1%} |")
    real = next(iter(curves.values()))["real"] if curves else None
    if real:
        rows.append(f"| held-out lines | — | {real['real_word_share']:.0%} | {real['distinct_2']:.2f} | "
                    f"{real['ref_perplexity']:.1f} | {real['degenerate_share']:.1%} |")
    return "\n".join(rows)
