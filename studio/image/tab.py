"""The Images tab and the image part of the Compare tab: handlers (plain functions) and layout."""

from __future__ import annotations

import functools

import gradio as gr
import numpy as np
import pandas as pd

from studio.image import MODALITY
from studio.image.codec import make_grid
from studio.image.data import CLASS_NAMES
from studio.runtime import slerp_noise
from studio.serving import ModelRegistry
from studio.ui import compare
from studio.ui.describe import describe, model_choices, recorded_model
from studio.ui.inputs import MAX_SEED, generator_for, parse_whole_number

SCHEMA = MODALITY.schema
MAX_IMAGES = 64
MAX_FRAMES = 16
GRID_SCALE = 3
RESCORE_SAMPLES = 2000
CHART_METRICS = ("precision", "recall", "density", "coverage")
READING_GUIDE = """
- **Fréchet distance** compares the reference classifier's features of 10,000 samples with those of the
  10,000 Fashion-MNIST test images. Lower is better; 10,000 real training images score 0.07.
- **Precision** is the share of samples that land on the real data's manifold (fidelity);
  **recall** the share of real images whose neighbourhood the samples reach (diversity).
  **Density** and **coverage** are outlier-robust versions of the two.
- **Class histogram**: the reference classifier labels every sample. A healthy generator spreads its
  samples over all ten classes; a collapsed one piles them into a few. *Class KL* sums that up:
  0 is perfectly balanced, 2.30 is a single class.
- **Likelihood** exists only for likelihood models: the flow's bits/dim is exact for its dequantized model,
  the VAE's is an upper bound (its negative ELBO), the Transformer's counts its VQ code tokens, not pixels.
  A GAN has none.
"""


def describe_image(registry: ModelRegistry, model_id: object) -> tuple[str, pd.DataFrame]:
    """A model's recorded metrics (markdown) and class histogram (for the bar plot)."""
    model = recorded_model(registry, model_id)
    hist = None if isinstance(model, str) else model.metrics.get("class_histogram")
    return describe(registry, SCHEMA, model_id), compare.histogram_frame(hist, CLASS_NAMES)


def generate(registry: ModelRegistry, model_id: str, seed: object,
             count: object) -> tuple[np.ndarray, str, pd.DataFrame]:
    """Grid of ``count`` images from ``model_id`` for ``seed``, with its card and class histogram."""
    count_n = parse_whole_number(count, "Number of images", 1, MAX_IMAGES)
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    generator = generator_for(registry, model_id)
    images = generator.sample(count_n, seed=seed_n)  # (count, 28, 28, 1) uint8
    info, hist = describe_image(registry, model_id)
    return make_grid(images, scale=GRID_SCALE), info, hist


def generate_both(registry: ModelRegistry, left_model: str, right_model: str, seed: object, left_count: object,
                  right_count: object) -> tuple:
    """The same seed through both panels."""
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    left = generate(registry, left_model, seed_n, left_count)
    right = generate(registry, right_model, seed_n, right_count)
    return (seed_n, seed_n, *left, *right)


def interpolate(registry: ModelRegistry, model_id: str, seed_a: object, seed_b: object, frames: object) -> np.ndarray:
    """A strip of frames walking the latent space from seed A's noise to seed B's."""
    a = parse_whole_number(seed_a, "Seed A", 0, MAX_SEED)
    b = parse_whole_number(seed_b, "Seed B", 0, MAX_SEED)
    n = parse_whole_number(frames, "Frames", 2, MAX_FRAMES)
    generator = generator_for(registry, model_id)
    if not generator.z_dim:
        raise gr.Error(f"'{model_id}' draws its samples token by token and has no latent noise to walk through. "
                       "Pick a latent model (GAN, VAE or flow).")
    images = generator.run(slerp_noise(generator.z_dim, a, b, n))
    return make_grid(images, columns=n, scale=GRID_SCALE)


def generate_all(registry: ModelRegistry, seed: object, count: object) -> list[np.ndarray | None]:
    """Every image model's grid for one seed; an unavailable model shows no grid, not an error."""
    count_n = parse_whole_number(count, "Number of images", 1, MAX_IMAGES)
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    grids = []
    for model_id in registry.ids("image"):
        model = registry.get(model_id)
        grids.append(make_grid(model.generator.sample(count_n, seed=seed_n), scale=2) if model.available else None)
    return grids


def recorded_comparison(registry: ModelRegistry) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = compare.metrics_table(registry, MODALITY)
    return table, compare.share_frame(table, SCHEMA, CHART_METRICS)


def rescore_now(registry: ModelRegistry, seed: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Recompute the metrics live on a smaller sample (RESCORE_SAMPLES per model)."""
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    try:
        live = compare.rescore(registry, MODALITY, RESCORE_SAMPLES, seed_n)
    except FileNotFoundError as exc:
        raise gr.Error(str(exc)) from None
    table = compare.metrics_table(registry, MODALITY, live=live)
    return table, compare.share_frame(table, SCHEMA, CHART_METRICS)


# -- layout ----------------------------------------------------------------------------
def image_panel(registry: ModelRegistry, side: str, default: str | None) -> dict[str, gr.components.Component]:
    with gr.Column(elem_id=f"panel-{side}"):
        model = gr.Dropdown(model_choices(registry, "image"), value=default, label="Model", allow_custom_value=True,
                            elem_id=f"model-{side}")
        with gr.Row():
            seed = gr.Number(value=0, label="Seed", precision=None, elem_id=f"seed-{side}")
            count = gr.Number(value=16, label=f"Images (1–{MAX_IMAGES})", precision=None, elem_id=f"count-{side}")
        button = gr.Button("Generate", variant="primary", elem_id=f"generate-{side}")
        grid = gr.Image(label="Samples", type="numpy", format="png", interactive=False, elem_id=f"grid-{side}")
        info_text, hist_value = describe_image(registry, default) if default else \
            ("", compare.histogram_frame(None, CLASS_NAMES))
        info = gr.Markdown(info_text, elem_id=f"info-{side}")
        hist = gr.BarPlot(hist_value, x="class", y="share", label="Class histogram (recorded, reference classifier)",
                          sort=list(CLASS_NAMES), x_label_angle=-30, elem_id=f"hist-{side}")
    button.click(functools.partial(generate, registry), [model, seed, count], [grid, info, hist],
                 api_name=f"generate_{side}", concurrency_limit=4)
    model.change(functools.partial(describe_image, registry), [model], [info, hist], api_name=f"describe_{side}",
                 concurrency_limit=4)
    return {"model": model, "seed": seed, "count": count, "grid": grid, "info": info, "hist": hist}


def interpolation_section(registry: ModelRegistry) -> None:
    latent = model_choices(registry, "image", latent_only=True)
    gr.Markdown("### Latent interpolation\nWalk from one seed's noise to another's: a smooth path means the "
                "generator learned a continuous space rather than memorising pictures.")
    with gr.Row():
        model = gr.Dropdown(latent, value=latent[0][1] if latent else None, label="Model", allow_custom_value=True,
                            elem_id="interp-model")
        seed_a = gr.Number(value=1, label="Seed A", precision=None, elem_id="interp-seed-a")
        seed_b = gr.Number(value=2, label="Seed B", precision=None, elem_id="interp-seed-b")
        frames = gr.Number(value=8, label=f"Frames (2–{MAX_FRAMES})", precision=None, elem_id="interp-frames")
        button = gr.Button("Interpolate", elem_id="interp-run")
    strip = gr.Image(label="Interpolation", type="numpy", format="png", interactive=False, elem_id="interp-strip")
    button.click(functools.partial(interpolate, registry), [model, seed_a, seed_b, frames], [strip],
                 api_name="interpolate", concurrency_limit=4)


def build_tab(registry: ModelRegistry) -> None:
    ids = registry.ids("image")
    with gr.Row():
        shared_seed = gr.Number(value=0, label="Seed for both panels", precision=None, elem_id="seed-both")
        both = gr.Button("Generate both with this seed", elem_id="generate-both")
    with gr.Row():
        left = image_panel(registry, "left", ids[0] if ids else None)
        right = image_panel(registry, "right", ids[1] if len(ids) > 1 else (ids[0] if ids else None))
    both.click(functools.partial(generate_both, registry),
               [left["model"], right["model"], shared_seed, left["count"], right["count"]],
               [left["seed"], right["seed"], left["grid"], left["info"], left["hist"],
                right["grid"], right["info"], right["hist"]],
               api_name="generate_both", concurrency_limit=2)
    with gr.Accordion("How to read the numbers", open=False, elem_id="help-images"):
        gr.Markdown(READING_GUIDE)
    interpolation_section(registry)


def build_compare(registry: ModelRegistry) -> None:
    ids = registry.ids("image")
    gr.Markdown("Every image generator on the same seed. The table and charts are the recorded metrics "
                "(10,000 samples each); **Re-score now** recomputes them live on "
                f"{RESCORE_SAMPLES:,} samples per model, so expect small differences.")
    with gr.Row():
        seed = gr.Number(value=0, label="Seed", precision=None, elem_id="compare-seed")
        count = gr.Number(value=16, label=f"Images per model (1–{MAX_IMAGES})", precision=None,
                          elem_id="compare-count")
        run_all = gr.Button("Generate all", variant="primary", elem_id="compare-generate-all")
    with gr.Row():
        grids = [gr.Image(label=model_id, type="numpy", format="png", interactive=False,
                          elem_id=f"compare-grid-{model_id}") for model_id in ids]
    table_value, chart_value = recorded_comparison(registry)
    table = gr.Dataframe(table_value, label="Metrics (one row per model)", interactive=False, elem_id="compare-table")
    rescore = gr.Button("Re-score now", elem_id="compare-rescore")
    chart = gr.BarPlot(chart_value, x="metric", y="value", color="model", label="Precision, recall, density, coverage",
                       elem_id="compare-chart")
    with gr.Row():
        for model_id in ids:
            gr.BarPlot(compare.histogram_frame(registry.get(model_id).metrics.get("class_histogram"), CLASS_NAMES),
                       x="class", y="share", sort=list(CLASS_NAMES), x_label_angle=-30,
                       label=f"{model_id}: class histogram", elem_id=f"compare-hist-{model_id}")
    with gr.Row():
        for model_id in ids:
            gr.LinePlot(compare.curves_frame(registry.get(model_id).curves), x="step", y="value", color="series",
                        label=f"{model_id}: training curves", elem_id=f"compare-curves-{model_id}")
    run_all.click(functools.partial(generate_all, registry), [seed, count], grids, api_name="generate_all",
                  concurrency_limit=2)
    rescore.click(functools.partial(rescore_now, registry), [seed], [table, chart], api_name="rescore",
                  concurrency_limit=1)
