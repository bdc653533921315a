"""The Images tab and the image part of the Compare tab: handlers (plain functions) and layout."""

from __future__ import annotations

import functools

import gradio as gr

from studio.image import MODALITY
from studio.image.codec import make_grid
from studio.image.data import CLASS_NAMES
from studio.image.protocol import draw
from studio.onnx.runtime import slerp_noise
from studio.registry.serving import ModelRegistry
from studio.ui import charts
from studio.ui.controls import (
    LooseSlider,
    chart_image,
    curves_section,
    keep_results,
    metrics_section,
    model_dropdown,
    seed_box,
    status_line,
)
from studio.ui.describe import describe, model_choices, recorded_model, strongest
from studio.ui.first_screen import show_on_open
from studio.ui.inputs import MAX_SEED, generator_for, parse_whole_number
from studio.ui.results import figure_path, png_path, remembered

SCHEMA = MODALITY.schema
MAX_IMAGES = 64
MAX_FRAMES = 16
GRID_SCALE = 3
RESCORE_SAMPLES = 2000
CHART_METRICS = ("fd", "precision", "recall", "density", "coverage", "kl_to_uniform")
INTRO = ("**Fashion-MNIST**: 28×28 grey photos of clothes in ten classes. Pick a model on each side and "
         "press **Generate**: the same seed gives both the same noise, so the difference is the model. "
         "The bars under each grid show which classes its samples fall into (an even spread is healthy).")
EXAMPLE_SEEDS = (7, 42, 2024)
OPENING_METRIC = "fd"  # the tab opens on the two models with the lowest recorded Fréchet distance
READING_GUIDE = """
- **Fréchet distance** compares the reference classifier's features of 10,000 samples with those of the
  10,000 Fashion-MNIST test images. Lower is better; 10,000 real training images score 0.07.
- **Precision** is the share of samples that land on the real data's manifold (fidelity);
  **recall** the share of real images whose neighbourhood the samples reach (diversity).
  **Density** and **coverage** are outlier-robust versions of the two.
- **Class histogram**: the reference classifier labels every sample. A healthy generator spreads its
  samples over all ten classes (the dashed line, 10% each); a collapsed one piles them into a few.
  *Class KL* sums that up: 0 is perfectly balanced, 2.30 is a single class. Every histogram shares one
  y-axis that starts at zero, so bars compare across models.
- **Likelihood** exists only for likelihood models: the flow's bits/dim is exact for its dequantized model,
  the VAE's is an upper bound (its negative ELBO), the Transformer's counts its VQ code tokens, not pixels.
  A GAN has none.
"""


def _histogram_top(registry: ModelRegistry) -> float:
    return charts.histogram_limit([registry.get(m).metrics.get("class_histogram") for m in registry.ids("image")])


def describe_image(registry: ModelRegistry, model_id: object) -> tuple[str, str]:
    """A model's recorded metrics (markdown) and class histogram (a PNG path: the modality's shared axis)."""
    return _described(registry, str(model_id))


@remembered
def _described(registry: ModelRegistry, model_id: str) -> tuple[str, str]:
    model = recorded_model(registry, model_id)
    hist = None if isinstance(model, str) else model.metrics.get("class_histogram")
    figure, summary = charts.class_histogram({model_id: hist}, CLASS_NAMES, top=_histogram_top(registry))
    return (describe(registry, SCHEMA, model_id) + f"\n\n*Class histogram: {summary}*",
            figure_path(figure, f"{model_id}-classes"))


@remembered
def grid_file(registry: ModelRegistry, model_id: str, seed: int, count: int) -> str:
    """PNG of ``count`` images from ``model_id`` for ``seed`` (deterministic, so finished files are reused)."""
    generator = generator_for(registry, model_id)
    images = draw(generator, count, seed, **registry.get(model_id).sampling)  # (count, 28, 28, 1) uint8
    return png_path(make_grid(images, scale=GRID_SCALE), f"{model_id}-seed{seed}-n{count}")


def generate(registry: ModelRegistry, model_id: str, seed: object, count: object) -> tuple[str, str, str]:
    """Grid of ``count`` images from ``model_id`` for ``seed`` (a PNG path), with its card and class histogram."""
    count_n = parse_whole_number(count, "Number of images", 1, MAX_IMAGES)
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    path = grid_file(registry, str(model_id), seed_n, count_n)
    info, hist = describe_image(registry, model_id)
    return path, info, hist


def generate_both(registry: ModelRegistry, left_model: str, right_model: str, seed: object, left_count: object,
                  right_count: object) -> tuple:
    """The same seed through both panels."""
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    left = generate(registry, left_model, seed_n, left_count)
    right = generate(registry, right_model, seed_n, right_count)
    return (seed_n, seed_n, *left, *right)


@remembered
def strip_file(registry: ModelRegistry, model_id: str, a: int, b: int, n: int) -> str:
    generator = generator_for(registry, model_id)
    if generator.autoregressive:
        raise gr.Error(f"'{model_id}' draws its samples token by token and has no latent noise to walk through. "
                       "Pick a latent model (GAN, VAE or flow).")
    temperature = registry.get(model_id).sampling.get("temperature", 1.0)  # the noise scale its grids use
    images = generator.run(slerp_noise(generator.z_dim, a, b, n) * temperature)  # (n, 28, 28, 1)
    return png_path(make_grid(images, columns=n, scale=GRID_SCALE), f"{model_id}-path-{a}-{b}-{n}")


def interpolate(registry: ModelRegistry, model_id: str, seed_a: object, seed_b: object, frames: object) -> str:
    """A strip of frames walking the latent space from seed A's noise to seed B's (a PNG path)."""
    a = parse_whole_number(seed_a, "Seed A", 0, MAX_SEED)
    b = parse_whole_number(seed_b, "Seed B", 0, MAX_SEED)
    n = parse_whole_number(frames, "Frames", 2, MAX_FRAMES)
    return strip_file(registry, str(model_id), a, b, n)


def generate_all(registry: ModelRegistry, seed: object, count: object) -> list[str | None]:
    """Every image model's grid for one seed; an unavailable model shows no grid, not an error."""
    count_n = parse_whole_number(count, "Number of images", 1, MAX_IMAGES)
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    return [grid_file(registry, m, seed_n, count_n) if registry.get(m).available else None
            for m in registry.ids("image")]


def alt_for(model_id: object, seed: object, count: object) -> dict:
    """The grid's alt text: what a screen reader says instead of the picture."""
    return gr.update(alt_text=f"{count} generated Fashion-MNIST images from {model_id}, seed {seed}")


# -- layout ----------------------------------------------------------------------------
def image_panel(registry: ModelRegistry, side: str, default: str | None) -> dict[str, gr.components.Component]:
    with gr.Column(elem_id=f"panel-{side}", min_width=300):
        model = model_dropdown(model_choices(registry, "image", variants=True), default, f"model-{side}")
        with gr.Row(equal_height=True):
            seed = seed_box(0, "Seed", f"seed-{side}")
            count = LooseSlider(1, MAX_IMAGES, value=16, step=1, label="Images", elem_id=f"count-{side}", scale=3)
        button = gr.Button("Generate", variant="primary", elem_id=f"generate-{side}")
        status = status_line(f"status-{side}")
        grid = gr.Image(None, label="Samples", type="filepath", interactive=False, elem_id=f"grid-{side}",
                        alt_text=f"16 generated Fashion-MNIST images from {default}, seed 0")
        info = gr.Markdown("", elem_id=f"info-{side}", elem_classes=["metrics"])
        hist = chart_image(None, "Class histogram of the model's samples (recorded)", f"hist-{side}")
        if default and registry.get(default).available:
            show_on_open([grid, info, hist], lambda: generate(registry, default, 0, 16), f"images {side}")
    button.click(functools.partial(generate, registry), [model, seed, count], [grid, info, hist],
                 api_name=f"generate_{side}", concurrency_limit=4, **keep_results(status)).success(
        alt_for, [model, seed, count], [grid], api_visibility="private", show_progress="hidden")
    model.change(functools.partial(describe_image, registry), [model], [info, hist], api_name=f"describe_{side}",
                 concurrency_limit=4, **keep_results(status))
    return {"model": model, "seed": seed, "count": count, "grid": grid, "info": info, "hist": hist,
            "status": status}


def interpolation_section(registry: ModelRegistry) -> None:
    latent = model_choices(registry, "image", latent_only=True)
    gr.Markdown("### Latent interpolation\nWalk from one seed's noise to another's: a smooth path means the "
                "generator learned a continuous space rather than memorising pictures.")
    default = latent[0][1] if latent else None
    with gr.Row(equal_height=True):
        model = model_dropdown(latent, default, "interp-model")
        seed_a = seed_box(1, "Seed A", "interp-seed-a")
        seed_b = seed_box(2, "Seed B", "interp-seed-b")
        frames = LooseSlider(2, MAX_FRAMES, value=8, step=1, label="Frames", elem_id="interp-frames")
    button = gr.Button("Interpolate", elem_id="interp-run")
    status = status_line("interp-status")
    strip = gr.Image(None, label="Interpolation", type="filepath", interactive=False, elem_id="interp-strip",
                     alt_text=f"8 images on the path from seed 1 to seed 2 of {default}")
    if default and registry.get(default).available:
        show_on_open(strip, lambda: interpolate(registry, default, 1, 2, 8), "image interpolation")
    button.click(functools.partial(interpolate, registry), [model, seed_a, seed_b, frames], [strip],
                 api_name="interpolate", concurrency_limit=4, **keep_results(status)).success(
        lambda m, a, b, n: gr.update(alt_text=f"{n} images on the path from seed {a} to seed {b} of {m}"),
        [model, seed_a, seed_b, frames], [strip], api_visibility="private", show_progress="hidden")


def build_tab(registry: ModelRegistry) -> None:
    ids = registry.ids("image")
    gr.Markdown(INTRO, elem_classes=["tab-intro"])
    with gr.Row(equal_height=True):
        shared_seed = seed_box(0, "Seed for both panels", "seed-both")
        both = gr.Button("Generate both with this seed", elem_id="generate-both", scale=2)
    best = strongest(registry, "image", OPENING_METRIC, SCHEMA.metric(OPENING_METRIC).better)  # opens on the best pair
    with gr.Row():
        left = image_panel(registry, "left", best[0] if best else None)
        right = image_panel(registry, "right", best[1] if len(best) > 1 else (best[0] if best else None))
    both.click(functools.partial(generate_both, registry),
               [left["model"], right["model"], shared_seed, left["count"], right["count"]],
               [left["seed"], right["seed"], left["grid"], left["info"], left["hist"],
                right["grid"], right["info"], right["hist"]],
               api_name="generate_both", concurrency_limit=2, show_progress_on=[left["status"], right["status"]])
    if len(ids) > 1:  # one click: two models, one seed, both panels generated
        pairs = [(ids[i % len(ids)], ids[(i + 1) % len(ids)], seed) for i, seed in enumerate(EXAMPLE_SEEDS)]
        gr.Examples([[a, b, seed, 16, 16] for a, b, seed in pairs],
                    [left["model"], right["model"], shared_seed, left["count"], right["count"]],
                    [left["seed"], right["seed"], left["grid"], left["info"], left["hist"],
                     right["grid"], right["info"], right["hist"]],
                    fn=functools.partial(generate_both, registry), run_on_click=True, cache_examples=False,
                    api_visibility="private", label="Examples: click one to compare two models on one seed",
                    example_labels=[f"{a} vs {b}, seed {seed}" for a, b, seed in pairs], elem_id="examples-images")
    with gr.Accordion("How to read the numbers", open=False, elem_id="help-images"):
        gr.Markdown(READING_GUIDE)
    interpolation_section(registry)


def build_compare(registry: ModelRegistry) -> None:
    ids = registry.ids("image")
    gr.Markdown("## Image models\nEvery image generator on the same seed. The table and charts are the recorded "
                "metrics (10,000 samples each); **Re-score now** recomputes them live on "
                f"{RESCORE_SAMPLES:,} samples per model, so expect small differences.")
    with gr.Row(equal_height=True):
        seed = seed_box(0, "Seed", "compare-seed")
        count = LooseSlider(1, MAX_IMAGES, value=16, step=1, label="Images per model", elem_id="compare-count",
                          scale=3)
        run_all = gr.Button("Generate all", variant="primary", elem_id="compare-generate-all", scale=2)
    status = status_line("compare-status")
    with gr.Row():
        grids = [gr.Image(None, label=model_id if registry.get(model_id).available else f"{model_id} (unavailable)",
                          type="filepath", interactive=False, min_width=200,
                          elem_id=f"compare-grid-{model_id}", alt_text=f"16 images from {model_id}, seed 0")
                 for model_id in ids]
    show_on_open(grids, lambda: tuple(generate_all(registry, 0, 16)), "image compare grids")
    metrics_section(registry, MODALITY, CHART_METRICS, "compare", RESCORE_SAMPLES, "rescore")
    hist_chart = chart_image(None, "Class histograms of every image model (recorded)", "compare-hist")
    hist_text = gr.Markdown("", elem_id="compare-hist-summary")

    def histograms() -> tuple:
        hists = {m: registry.get(m).metrics.get("class_histogram") for m in ids}
        figure, summary = charts.class_histogram(hists, CLASS_NAMES, title="Class histograms (recorded)")
        return gr.update(value=figure_path(figure, "image-classes"), alt_text=summary), f"*{summary}*"

    show_on_open([hist_chart, hist_text], histograms, "image class histograms")
    curves_section(registry, ids, "compare")
    run_all.click(functools.partial(generate_all, registry), [seed, count], grids, api_name="generate_all",
                  concurrency_limit=2, **keep_results(status))
