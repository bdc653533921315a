"""The app's charts, drawn with matplotlib so that they are honest by construction: bars start at zero,
models are grouped side by side (never stacked), every metric says which way is better, quantities of
different scales get their own axes, and every chart comes with a one-line text summary.

Each function returns ``(figure, summary)``: the figure for a ``gr.Plot``, the summary (markdown) for
the people who cannot or would rather not read the picture. Numpy/pandas/matplotlib only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from studio.evaluation.schema import MetricSchema

#: Colour-blind-safe (Okabe-Ito) colours, one per model in table order, and grey for the held-out data.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DATA_COLOUR = "#999999"


def _figure(width: float, height: float):  # noqa: ANN202 - a matplotlib Figure
    from matplotlib.figure import Figure  # a bare Figure draws to PNG without pyplot or a display backend

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _direction(schema: MetricSchema, key: str, has_data: bool) -> str:
    better = schema.metric(key).better
    if better in ("higher", "lower"):
        return f"{better} is better"
    return "closer to the held-out data is better" if has_data else "descriptive: no better direction"


def metric_bars(table: pd.DataFrame, schema: MetricSchema, keys: Sequence[str]) -> tuple[object, str]:
    """One small panel per metric, a bar per model (and the held-out data, in grey) from zero.

    Panels keep metrics of different scales and directions apart: nothing is added up across metrics.
    """
    keys = [k for k in keys if schema.metric(k).header in table]
    cols = min(len(keys), 4) or 1
    rows = math.ceil(len(keys) / cols) if keys else 1
    fig = _figure(3.1 * cols, 2.7 * rows)
    if table.empty or not keys:
        fig.text(0.5, 0.5, "No models to chart yet", ha="center", va="center")
        return fig, "No models to chart yet."
    models = [str(m) for m in table["model"]]
    colours = [DATA_COLOUR if fam == "data" else PALETTE[i % len(PALETTE)]
               for i, fam in enumerate(table["family"])]
    lines = []
    for n, key in enumerate(keys):
        metric = schema.metric(key)
        ax = fig.add_subplot(rows, cols, n + 1)
        values = pd.to_numeric(table[metric.header], errors="coerce").to_numpy(dtype=float)
        shown = np.nan_to_num(values, nan=0.0)
        ax.bar(range(len(models)), shown, color=colours)
        top = max(float(np.nanmax(shown)) if len(shown) else 0.0, 1e-9)
        ax.set_ylim(0, top * 1.22)
        for x, v in enumerate(values):
            ax.text(x, (0 if math.isnan(v) else v) + top * 0.02, "n/a" if math.isnan(v) else metric.format(v),
                    ha="center", va="bottom", fontsize=8)
        has_data = bool(np.any(~np.isnan(values[(table["family"] == "data").to_numpy()])))
        ax.set_title(f"{metric.header}\n({_direction(schema, key, has_data)})", fontsize=9)
        short = [m if fam == "data" else m.split("-", 1)[-1] for m, fam in zip(models, table["family"])]
        ax.set_xticks(range(len(models)), short, rotation=30, ha="right", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        best = best_model(table, schema, key)
        if best:
            lines.append(f"{metric.header}: best {best[0]} ({metric.format(best[1])})")
    return fig, "; ".join(lines) + "." if lines else "No recorded values to compare."


def best_model(table: pd.DataFrame, schema: MetricSchema, key: str) -> tuple[str, float] | None:
    """(model, value) that does best on ``key`` among the models (the held-out data row excluded)."""
    metric = schema.metric(key)
    if metric.header not in table:
        return None
    models = table[table["family"] != "data"]
    values = pd.to_numeric(models[metric.header], errors="coerce")
    if values.dropna().empty:
        return None
    if metric.better == "lower":
        i = values.idxmin()
    elif metric.better == "higher":
        i = values.idxmax()
    else:  # closest to what the held-out data scores
        real = table[table["family"] == "data"]
        if real.empty:
            return None
        target = float(pd.to_numeric(real[metric.header], errors="coerce").iloc[0])
        i = (values - target).abs().idxmin()
    return str(table.loc[i, "model"]), float(values[i])


def best_per_metric(table: pd.DataFrame, schema: MetricSchema, keys: Sequence[str]) -> str:
    """A compact markdown table that fits a phone: each metric with its direction (↑ higher is better,
    ↓ lower, none: closest to the data), the best model and its value, and what the held-out data scores."""
    real = table[table["family"] == "data"]
    rows = ["| metric | best | value | data |", "|---|---|---|---|"]
    for key in keys:
        metric = schema.metric(key)
        best = best_model(table, schema, key)
        if not best:
            continue
        data = "—"
        if not real.empty and metric.header in real and pd.notna(real[metric.header].iloc[0]):
            data = metric.format(float(real[metric.header].iloc[0]))
        header = metric.header.replace("|", "\\|")  # "KL(q || p)" would end the cell
        rows.append(f"| {header} | {best[0]} | {metric.format(best[1])} | {data} |")
    return "\n".join(rows) if len(rows) > 2 else "*No recorded metrics yet.*"


def histogram_limit(histograms: Sequence[Sequence[float] | None]) -> float:
    """One y-axis top for every class histogram of a modality, so that panels compare at a glance."""
    peaks = [float(np.max(h)) for h in histograms if h is not None and len(h)]
    return max([0.2, *peaks]) * 1.1


def class_histogram(shares: dict[str, Sequence[float] | None], class_names: Sequence[str],
                    top: float | None = None, title: str = "") -> tuple[object, str]:
    """Share of samples per class, models side by side, from zero, with the uniform share as a line.

    ``shares`` maps model id to its histogram (None: not recorded); ``top`` fixes the y-axis so that
    separate charts compare (``histogram_limit``).
    """
    fig = _figure(max(5.0, 0.55 * len(class_names) * max(1, len(shares)) ** 0.5), 3.0)
    ax = fig.add_subplot(1, 1, 1)
    recorded = {m: np.asarray(h, dtype=float) for m, h in shares.items() if h}
    uniform = 1.0 / len(class_names)
    if not recorded:
        ax.text(0.5, 0.5, "No class histogram recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig, "No class histogram recorded for this model."
    width = 0.8 / len(recorded)
    x = np.arange(len(class_names))
    for i, (model, h) in enumerate(recorded.items()):
        ax.bar(x - 0.4 + width * (i + 0.5), h, width, label=model, color=PALETTE[i % len(PALETTE)])
    ax.axhline(uniform, color="black", linestyle="--", linewidth=1)
    ax.text(len(class_names) - 0.5, uniform, f" uniform = {uniform:.2f}", va="bottom", ha="right", fontsize=8)
    ax.set_ylim(0, top or histogram_limit(list(recorded.values())))
    ax.set_ylabel("share of samples")
    ax.set_xticks(x, class_names, rotation=30, ha="right", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    if len(recorded) > 1:
        ax.legend(fontsize=8, ncols=min(4, len(recorded)), loc="upper left")
    parts = []
    for model, h in recorded.items():
        lo, hi = int(np.argmin(h)), int(np.argmax(h))
        parts.append(f"{model}: most {class_names[hi]} ({h[hi]:.0%}), fewest {class_names[lo]} ({h[lo]:.0%})")
    return fig, "; ".join(parts) + f"; a perfectly balanced model gives every class {uniform:.0%}."


# -- training curves ----------------------------------------------------------------------------------
#: (title, which series, what to look for) for each panel of the training-curves chart.
CURVE_PANELS = (
    ("losses", lambda k: k.endswith("/loss") or k in ("vae/nll", "vae/kl", "d/wasserstein"),
     "Losses. A GAN's losses should hover, not run away; a likelihood model's should fall and flatten."),
    ("held-out evaluation", lambda k: k.startswith("eval/") and "active_units" not in k,
     "Held-out scores during training: rising while the training loss falls means overfitting."),
    ("active latent units", lambda k: k == "eval/active_units",
     "Latent units whose code varies across the data. Falling to 0 or 1 is posterior collapse: the decoder "
     "has learned to ignore z."),
    ("gradient norms", lambda k: k.endswith("/grad_norm"),
     "Gradient norms (before clipping). Spikes of 10x or more are instability; the guard rolls back on NaN."),
    ("D(real) and D(fake)", lambda k: k in ("d/d_real", "d/d_fake"),
     "The critic's mean score on real and generated samples: a gap that grows without bound means the "
     "critic has won and the generator gets no useful signal."),
    ("learning-rate multiplier", lambda k: k == "lr_mult",
     "Warm-up then decay; red marks are rollbacks, where a NaN or divergence restored the last good state."),
)


def _series_panels(series: dict[str, list]) -> list[tuple[str, list[str], str]]:
    panels = []
    for title, wanted, hint in CURVE_PANELS:
        names = [k for k in series if wanted(k) and series[k]]
        if names:
            panels.append((title, names, hint))
    return panels


def _scale_groups(series: dict[str, list], names: list[str]) -> list[list[str]]:
    """Split series whose typical sizes differ by more than 20x onto separate axes (a 2,000-nat loss and a
    series near 0 on one axis hide the small one)."""
    size = {n: float(np.median(np.abs([p[1] for p in series[n]]))) + 1e-12 for n in names}
    groups: list[list[str]] = []
    for n in sorted(names, key=lambda k: -size[k]):
        for g in groups:
            if size[g[0]] / size[n] <= 20:
                g.append(n)
                break
        else:
            groups.append([n])
    return groups


def training_curves(curves: dict, model_id: str) -> tuple[object, str]:
    """Losses, held-out scores, gradient norms, D(real)/D(fake) and the learning-rate multiplier (with
    rollback markers), one row each, series of different scales on their own axes; full legends."""
    series = curves.get("series", {}) if curves else {}
    panels = _series_panels(series)
    if not panels:
        fig = _figure(6, 1.2)
        fig.text(0.5, 0.5, f"{model_id}: no training curves recorded", ha="center", va="center")
        return fig, f"{model_id}: no training curves recorded."
    rows = [(title, group, hint) for title, names, hint in panels for group in _scale_groups(series, names)]
    fig = _figure(6.2, 1.9 * len(rows) + 0.4)
    rollbacks = [e["step"] for e in curves.get("events", []) if e.get("event") == "rollback"]
    axes = fig.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (title, group, _) in zip(axes, rows):
        for i, name in enumerate(group):
            steps, values = zip(*[(p[0], p[1]) for p in series[name]])
            ax.plot(steps, values, label=name, color=PALETTE[i % len(PALETTE)], linewidth=1.2,
                    marker="o" if len(steps) < 12 else None, markersize=3)
        for step in rollbacks:
            ax.axvline(step, color="red", linewidth=1, alpha=0.7)
        if title == "gradient norms":
            from matplotlib.ticker import FormatStrFormatter, NullFormatter

            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(title, fontsize=9, loc="left")
        ax.legend(fontsize=7, loc="best")
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1].set_xlabel("step", fontsize=8)
    fig.suptitle(f"{model_id}: training", fontsize=10)
    hints = " ".join(dict.fromkeys(hint for _, _, hint in rows))
    summary = f"{model_id}: {len(rollbacks)} rollback{'s' if len(rollbacks) != 1 else ''}. {hints}"
    return fig, summary


# -- quality against diversity across temperature --------------------------------------------------
def quality_diversity(curves: dict[str, dict]) -> tuple[object, str]:
    """Real-word share (quality) against distinct-2 (diversity), one line per model through its temperatures,
    the held-out lines as a grey star. ``curves`` maps model id to its ``temperature.json``."""
    fig = _figure(6.4, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    if not curves:
        ax.text(0.5, 0.5, "No temperature sweep recorded: run scripts/temperature_curves.py", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig, "No temperature sweep recorded."
    parts = []
    for i, (model, curve) in enumerate(curves.items()):
        points = sorted(curve["points"], key=lambda p: p["temperature"])
        x = [p["distinct_2"] for p in points]
        y = [p["real_word_share"] for p in points]
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(x, y, "-o", color=colour, label=model, markersize=4)
        for p, xi, yi in zip(points, x, y):
            if p["temperature"] in (points[0]["temperature"], 1.0, points[-1]["temperature"]):
                ax.annotate(f"T={p['temperature']:g}", (xi, yi), textcoords="offset points", xytext=(4, 4),
                            fontsize=7, color=colour)
        lo, hi = points[0], points[-1]
        parts.append(f"{model}: real words {lo['real_word_share']:.0%} at T={lo['temperature']:g} to "
                     f"{hi['real_word_share']:.0%} at T={hi['temperature']:g}, distinct-2 {lo['distinct_2']:.2f} "
                     f"to {hi['distinct_2']:.2f}")
    real = next(iter(curves.values())).get("real")
    if real:
        ax.plot([real["distinct_2"]], [real["real_word_share"]], "*", color=DATA_COLOUR, markersize=14,
                label="held-out lines")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("diversity: distinct-2 (higher is more varied) →")
    ax.set_ylabel("quality: real-word share →")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, loc="lower left")
    summary = "; ".join(parts)
    if real:
        summary += (f"; held-out lines: real words {real['real_word_share']:.0%}, distinct-2 "
                    f"{real['distinct_2']:.2f}. Up and to the right is better.")
    return fig, summary
