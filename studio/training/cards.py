"""Model cards and curve plots written beside each exported generator. Metric labels come from the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.atomic import atomic_write, atomic_write_text
from studio.evaluation.schema import MetricSchema, likelihood_text, sampling_label
from studio.registry.record import Modality

#: Curve series a card plots: every loss term and the held-out likelihood logged during training.
PLOTTED_EVAL = ("eval/likelihood", "eval/neg_elbo", "eval/nll", "eval/bits")


def plot_curves(curves: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {k: v for k, v in curves["series"].items() if k.endswith("loss") or k.startswith(PLOTTED_EVAL)}
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


def card_text(*, entry: dict[str, Any], config: dict[str, Any], metrics: dict[str, Any], schema: MetricSchema,
              description: str, provenance: str) -> str:
    rows = [f"| {m.description} | {m.format(value)} | {'' if real is None else m.format(real)} |"
            for m, value, real in schema.rows(metrics)]
    head = [f"| held-out likelihood | {likelihood_text(metrics)} | |"]
    if "likelihood_note" in metrics:
        head.append(f"| the likelihood is computed over | {metrics['likelihood_note']} | |")
    rows = head + rows
    sampling = metrics.get("sampling")
    sampling_line = ""
    if sampling:
        at_one = ", ".join(f"{schema.metric(k).label} {schema.format(k, v)}"
                           for k, v in metrics.get("at_temperature_1", {}).items())
        sampling_line = (f" Samples are drawn at {sampling_label(sampling)}, the default "
                         "chosen on validation data by `scripts/choose_sampling.py`"
                         + (f"; at temperature 1: {at_one}." if at_one else "."))
    hist = metrics.get("class_histogram")
    hist_line = f"\nClass histogram (share per class): {', '.join(f'{h:.3f}' for h in hist)}\n" if hist else ""
    return f"""# {entry['id']}

{description}

- Family: **{entry['family']}**, modality: **{entry['modality']}**, preset `{config['preset']}`,
  {entry['steps']} steps, batch {config.get('batch_size', '?')}.
- Data: {provenance.rstrip('.')}.
- Rebuild: `{entry['rebuild']}`
- Code: commit `{entry['git_commit']}`. Recompute the metrics: `python scripts/evaluate.py {entry['id']}`.

## Metrics

Computed from `generator.onnx` in ONNX Runtime on {metrics.get('n_samples', '?')} {schema.sample_noun}, noise seed \
{metrics.get('seed', '?')}.{sampling_line} The last column is what the held-out data itself scores, where that applies.

| metric | value | {schema.real_label} |
|---|---|---|
{chr(10).join(rows)}
{hist_line}
## Training curves

![curves](curves.png)

## Samples (fixed noise)

![preview](preview.png)
"""


def registered_card(modality: Modality, entry: dict[str, Any], root: Path, metrics: dict[str, Any]) -> str:
    """The card of a model registered under ``root``, from its entry, its config.json, ``metrics`` and its
    recipe's description."""
    import json

    from studio.registry import manifest

    recipes = modality.recipes()
    config = json.loads(manifest.path_of(entry, "config", root).read_text())
    return card_text(entry=entry, config=config, metrics=metrics, schema=modality.schema,
                     description=recipes.RECIPES[recipe_key(config)].description, provenance=recipes.PROVENANCE)


def recipe_key(config: dict[str, Any]) -> str:
    """The key of the recipe a config was resolved from: the family, or family-variant."""
    return f"{config['family']}-{config['variant']}" if config.get("variant") else config["family"]


def write_card(path: Path, **fields: Any) -> None:
    atomic_write_text(path, card_text(**fields))
