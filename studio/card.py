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

#: Labels for a modality whose keys differ from (or mean something else than) the ones above.
MODALITY_LABELS = {
    "music": {
        "frechet_distance": "Fréchet distance of 50 music features vs the held-out chorales (lower is better)",
        "frechet_distance_real": "↳ one half of the held-out pieces vs the other",
        "pitch_class_kl": "key-relative pitch-class KL to the held-out chorales (nats)",
        "pitch_class_kl_real": "↳ one half of the held-out pieces vs the other",
        "consonance_on_beats": "share of consonant verticals on beats",
        "consonance_on_beats_real": "↳ the held-out chorales",
        "out_of_range": "share of notes outside their voice's range",
        "out_of_range_real": "↳ the held-out chorales",
        "voice_crossing": "share of steps with crossed voices",
        "voice_crossing_real": "↳ the held-out chorales",
        "parallel_5_8": "share of two-voice moves that are parallel fifths/octaves",
        "parallel_5_8_real": "↳ the held-out chorales",
        "note_density": "onsets per voice per bar",
        "note_density_real": "↳ the held-out chorales",
        "rest_share": "share of silent cells",
        "rest_share_real": "↳ the held-out chorales",
        "verticals_per_bar": "distinct sonorities per bar",
        "verticals_per_bar_real": "↳ the held-out chorales",
        "novelty": "novelty: share of 2-bar windows not in the training chorales",
        "distinct_fragments": "share of distinct fragments",
        "collapsed": "flagged as collapsed (mostly identical fragments, or under one sonority per bar)",
        "nll_bits_per_token": "held-out NLL, bits per token (one voice, one 16th step)",
        "nll_nats_per_token": "held-out NLL, nats per token",
        "neg_elbo_bits_per_token": "held-out negative ELBO, bits per token (an upper bound on NLL)",
    },
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
    own = MODALITY_LABELS.get(entry["modality"], {})  # its own keys first, in its own order
    labels = {**own, **{k: v for k, v in METRIC_LABELS.items() if k not in own}}
    rows = "\n".join(f"| {labels[k]} | {_fmt(metrics[k])} |" for k in labels if k in metrics)
    hist = metrics.get("class_histogram")
    hist_line = f"\nClass histogram (share per class): {', '.join(f'{h:.3f}' for h in hist)}\n" if hist else ""
    atomic_write_text(path, f"""# {entry['id']}

{description}

- Family: **{entry['family']}**, modality: **{entry['modality']}**, preset `{config['preset']}`,
  {entry['steps']} steps, batch {config.get('batch_size', '?')}.
- Data: {provenance.rstrip('.')}.
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
