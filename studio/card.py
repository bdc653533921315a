"""Model cards and curve plots written beside each exported generator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.atomic import atomic_write, atomic_write_text

METRIC_LABELS = {
    "fd": "Fréchet distance (reference-classifier features, lower is better)",
    "precision": "precision, k=3 (fidelity)",
    "recall": "recall, k=3 (diversity)",
    "density": "density, k=5",
    "coverage": "coverage, k=5",
    "classes_covered": "classes covered (≥1% of samples each)",
    "classes_covered_1k": "classes covered in the first 1,000 samples",
    "kl_to_uniform": "class-histogram KL to uniform (nats)",
    "mode_collapse": "flagged as mode-collapsed",
    "neg_elbo_bpd": "test negative ELBO, bits/dim (an upper bound on NLL)",
    "nll_bpd": "test NLL, bits/dim (exact for the dequantized model)",
    "nll_bits_per_token": "test NLL, bits per code token",
    "nll_bits_per_char": "held-out NLL, bits/char",
    "nll_nats_per_char": "held-out NLL, nats/char",
    "neg_elbo_bits_per_char": "held-out negative ELBO, bits/char (an upper bound on NLL)",
    "likelihood_kind": "what the likelihood is",
    "kl_nats": "KL(q(z|x) || p(z)) on held-out data, nats",
    "active_units": "active latent units",
    "distinct_1": "distinct-1 (word unigrams)",
    "distinct_2": "distinct-2 (word bigrams)",
    "distinct_3": "distinct-3 (word trigrams)",
    "distinct_2_real": "held-out text's distinct-2 on as many lines",
    "collapsed": "flagged as collapsed (distinct-2 under half the held-out text's)",
    "novelty": "novelty: share of 20-character spans not in the training text",
    "real_word_share": "share of generated words found in the training text",
    "ref_perplexity": "reference character model's perplexity of the samples",
    "ref_perplexity_real": "reference perplexity of held-out lines",
    "params": "generator parameters",
    "onnx_bytes": "ONNX file size (bytes)",
    "train_minutes": "training time (minutes, this machine)",
}


def plot_curves(curves: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {k: v for k, v in curves["series"].items()
              if k.endswith("loss") or k.startswith(("eval/neg_elbo", "eval/nll", "eval/bits"))}
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    for name, points in series.items():
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], label=name, linewidth=1)
    for event in curves.get("events", []):
        if event.get("event") == "rollback":
            ax.axvline(event["failed_step"], color="red", linestyle=":", linewidth=1)
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_card(path: Path, *, entry: dict[str, Any], config: dict[str, Any], metrics: dict[str, Any],
               description: str, provenance: str, command: str) -> None:
    rows = "\n".join(f"| {METRIC_LABELS.get(k, k)} | {_fmt(metrics[k])} |"
                     for k in METRIC_LABELS if k in metrics)
    hist = metrics.get("class_histogram")
    hist_line = f"\nClass histogram (share per class): {', '.join(f'{h:.3f}' for h in hist)}\n" if hist else ""
    atomic_write_text(path, f"""# {entry['id']}

{description}

- Family: **{entry['family']}**, modality: **{entry['modality']}**, preset `{config['preset']}`,
  {entry['steps']} steps, batch {config.get('batch_size', '?')}.
- Data: {provenance}.
- Rebuild: `{command}`
- Code: commit `{entry['git_commit']}`. Recompute the metrics: `python scripts/evaluate.py {entry['id']}`.

## Metrics

Computed from `generator.onnx` in ONNX Runtime on {metrics.get('n_samples', '?')} samples, noise seed {metrics.get('seed', '?')}.

| metric | value |
|---|---|
{rows}
{hist_line}
## Training curves

![curves](curves.png)

## Samples (fixed noise)

![preview](preview.png)
""")
