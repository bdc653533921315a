"""A model's header and recorded metrics as markdown, read through its modality's schema."""

from __future__ import annotations

from studio.evaluation.schema import REAL_SUFFIX, MetricSchema, likelihood_text, sampling_label
from studio.registry.serving import ModelRegistry, ServedModel, UnknownModel

#: Rows a panel shows besides the schema's table columns (when the model records them).
EXTRA_ROWS = ("kl_nats", "active_units")


def recorded_model(registry: ModelRegistry, model_id: object) -> ServedModel | str:
    """The served model, or the markdown that says why it cannot be described (unknown, or unavailable
    with the command that rebuilds it)."""
    try:
        model = registry.get(str(model_id))
    except UnknownModel as exc:
        return f"**{exc.args[0]}**"
    if not model.available:
        return f"**Unavailable.** {model.problem}\n\nRebuild it with `{model.rebuild_command}`"
    return model


def cell(text: str) -> str:
    """Text made safe for a markdown table cell: a '|' (as in "KL(q || p)") would end the cell."""
    return str(text).replace("|", "\\|")


def metrics_markdown(schema: MetricSchema, metrics: dict) -> str:
    """The recorded numbers as a table: model, and the held-out data where the record has it."""
    keys = [k for k in (*schema.table, *EXTRA_ROWS) if k in metrics and k not in ("collapsed", "mode_collapse")]
    with_real = any(k + REAL_SUFFIX in metrics for k in keys)
    head = (f"| recorded ({metrics.get('n_samples', '?')} {schema.sample_noun}, seed {metrics.get('seed', '?')}) "
            f"| value |" + (f" {schema.real_label} |" if with_real else ""))
    rule = "|---|---|" + ("---|" if with_real else "")
    rows = []
    for key in keys:
        metric = schema.metric(key)
        real = f" {cell(metric.format(metrics[key + REAL_SUFFIX]))} |" if key + REAL_SUFFIX in metrics else " |"
        rows.append(f"| {cell(metric.header)} | {cell(metric.format(metrics[key]))} |" + (real if with_real else ""))
    rows.append(f"| likelihood ↓ | {cell(likelihood_text(metrics))} |" + (" |" if with_real else ""))
    return "\n".join([head, rule, *rows])


def describe(registry: ModelRegistry, schema: MetricSchema, model_id: object, how: str = "") -> str:
    """Header (id, family, how it writes, steps, provider), metrics table and the schema's verdict."""
    model = recorded_model(registry, model_id)
    if isinstance(model, str):
        return model
    sampling = [f"samples at {sampling_label(model.sampling)} (chosen on validation data)"] if model.sampling else []
    parts = [model.id, model.entry["family"].upper(), *([how] if how else []), f"{model.entry['steps']} steps",
             f"runs on `{model.generator.provider}` in {precision_text(model.entry)}", *sampling]
    verdict = schema.verdict(model.metrics)
    return (f"**{parts[0]}** · " + " · ".join(parts[1:]) + "\n\n" + metrics_markdown(schema, model.metrics) +
            f"\n\n{verdict[:1].upper()}{verdict[1:]}.")


def precision_text(entry: dict) -> str:
    """Which arithmetic a panel's model runs: fp32, or its variant's precision and how it was made."""
    if "variant" not in entry:
        return "fp32"
    return f"{entry['precision']} ({entry['method']})" if entry.get("method") else entry["precision"]


def variant_label(entry: dict) -> str:
    speed = entry.get("speedup") or {}
    faster = f", {min(speed.values()):.1f}x faster" if speed else ""
    return f"{entry['base']} · {entry['precision']}{faster}"


def is_autoregressive(registry: ModelRegistry, model_id: object) -> bool:
    """Whether ``model_id`` is a registered model that writes token by token (a Transformer)."""
    model = registry.models.get(str(model_id))
    return bool(model and model.entry.get("kind") == "autoregressive")


def model_choices(registry: ModelRegistry, modality: str, need: str | None = None,
                  latent_only: bool = False, variants: bool = False) -> list[tuple[str, str]]:
    """(label, id) for a dropdown: the modality's models, those with an ``need`` file (e.g. "encoder") or a
    latent space only when asked; with ``variants``, each model's registered variants (e.g. int8) after it.
    An unavailable one says so in its label."""
    choices = []
    for model_id in registry.ids(modality):
        model = registry.get(model_id)
        if (need and need not in model.entry) or (latent_only and model.entry.get("kind", "one-shot") != "one-shot"):
            continue
        choices.append((model_id if model.available else f"{model_id} (unavailable)", model_id))
        for variant in registry.variants_of(model_id) if variants else []:
            label = variant_label(variant.entry)
            choices.append((label if variant.available else f"{label} (unavailable)", variant.id))
    return choices


def strongest(registry: ModelRegistry, modality: str, key: str, better: str, n: int = 2) -> list[str]:
    """The ``n`` servable models of ``modality`` with the best recorded ``key`` ("lower" or "higher" is
    better); models without the number go last, in manifest order."""
    ids = [m for m in registry.ids(modality) if registry.get(m).available] or registry.ids(modality)

    def rank(model_id: str) -> tuple[bool, float]:
        value = registry.get(model_id).metrics.get(key)
        if not isinstance(value, (int, float)):
            return True, 0.0
        return False, value if better == "lower" else -value

    return sorted(ids, key=rank)[:n]
