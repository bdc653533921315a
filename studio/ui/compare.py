"""The Compare tab's data, for any modality: metric tables and chart frames read through the modality's
schema, and live re-scoring through its protocol. Numpy/pandas only (no torch, no gradio)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from studio.evaluation.protocol import evaluate
from studio.evaluation.schema import REAL_SUFFIX, likelihood_text
from studio.memory import release_free_memory
from studio.registry.record import Modality
from studio.registry.serving import ModelRegistry
from studio.ui import charts
from studio.ui.results import figure_path


def _cell(value: Any) -> Any:
    return round(float(value), 4) if isinstance(value, float) else value


def metrics_table(registry: ModelRegistry, modality: Modality, live: dict[str, dict] | None = None) -> pd.DataFrame:
    """One row per model: recorded (or live re-scored) metrics, likelihood, size and speed; then what the
    held-out data itself scores, where the metrics record it."""
    schema = modality.schema
    rows = []
    for model_id in registry.ids(modality.name):
        model = registry.get(model_id)
        m = (live or {}).get(model_id) or model.metrics
        row: dict[str, Any] = {"model": model_id, "family": model.entry["family"]}
        row.update({schema.metric(k).header: _cell(m.get(k)) for k in schema.table})
        row["likelihood"] = likelihood_text(model.metrics)
        row["params"] = model.metrics.get("params")
        row["ONNX KiB"] = round(model.metrics.get("onnx_bytes", 0) / 1024)
        row["samples/s"] = round(m.get("eval_samples_per_s", 0.0))
        row["scored on"] = f"{m.get('n_samples', '?')} {schema.sample_noun}" + \
            (" (live)" if live and model_id in live else "")
        rows.append(row)
    real = held_out_row(registry, modality)
    return pd.DataFrame(rows + ([real] if real and rows else []))


def held_out_row(registry: ModelRegistry, modality: Modality) -> dict[str, Any] | None:
    """What the held-out data scores on the table's metrics (recorded beside every model as ``<key>_real``)."""
    schema = modality.schema
    for model_id in registry.ids(modality.name):
        m = registry.get(model_id).metrics
        if any(k + REAL_SUFFIX in m for k in schema.table):
            row: dict[str, Any] = {"model": schema.real_label, "family": "data"}
            row.update({schema.metric(k).header: _cell(m.get(k + REAL_SUFFIX)) for k in schema.table})
            return row
    return None


def comparison(registry: ModelRegistry, modality: Modality, chart_metrics: tuple[str, ...],
               live: dict[str, dict] | None = None) -> tuple[pd.DataFrame, object, str]:
    """(table, metric chart as a PNG path, best-per-metric markdown with the chart's text summary), from the
    recorded metrics or live re-scored ones."""
    table = metrics_table(registry, modality, live=live)
    keys = [k for k in chart_metrics if k in modality.schema.table]
    figure, summary = charts.metric_bars(table, modality.schema, keys)
    path = figure_path(figure, f"{modality.name}-metrics{'-live' if live else ''}")
    return table, path, charts.best_per_metric(table, modality.schema, keys) + f"\n\n*Chart: {summary}*"


_REFERENCES: dict[str, Any] = {}  # modality name -> its protocol's reference, opened on the first re-score


def rescore(registry: ModelRegistry, modality: Modality, n_samples: int, seed: int,
            progress: Callable[..., Any] | None = None) -> dict[str, dict]:
    """Every available model's metrics recomputed live on ``n_samples`` samples, through the protocol.

    ``progress(fraction, desc=...)`` (a gr.Progress) hears before each model; the first call also opens the
    modality's frozen reference, which can raise FileNotFoundError or DataMissing naming the fix."""
    report = progress or (lambda *args, **kwargs: None)
    if modality.name not in _REFERENCES:
        report(0.0, desc="opening the frozen reference")
        _REFERENCES[modality.name] = modality.protocol().open_reference("cpu")
    protocol, reference = modality.protocol(), _REFERENCES[modality.name]
    ids = [m for m in registry.ids(modality.name) if registry.get(m).available]
    live = {}
    for i, model_id in enumerate(ids):
        report(i / len(ids), desc=f"scoring {model_id} ({i + 1} of {len(ids)}, {n_samples:,} samples)")
        model = registry.get(model_id)
        live[model_id] = evaluate(model.generator, protocol, reference, n_samples, seed, model.sampling,
                                  steering=False)  # the table compares the unconditional numbers
        release_free_memory()  # each model's samples and activations, before the next one's
    report(1.0, desc="done")
    return live
