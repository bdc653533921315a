"""Generative Studio web app: serve the generators in trained/ through ONNX Runtime.

    python app.py            # http://127.0.0.1:7860
    python app.py --share    # also ask Gradio for a public link

Imports no torch: everything runs from the committed ONNX files.
"""

from __future__ import annotations

import argparse
import os

# Before gradio is imported: no analytics, no telemetry, no calls home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from studio import compare  # noqa: E402
from studio.data.labels import FASHION_MNIST_CLASSES  # noqa: E402
from studio.modalities.image import make_grid  # noqa: E402
from studio.serving import ModelRegistry, UnknownModel  # noqa: E402
from studio.ui.inputs import MAX_SEED, parse_whole_number  # noqa: E402
from studio.ui.inputs import generator_for as _generator_for  # noqa: E402
from studio.ui.music_tab import music_compare_section, music_tab  # noqa: E402
from studio.ui.text_tab import text_compare_section, text_tab  # noqa: E402

MAX_IMAGES = 64
GRID_SCALE = 3
TRAINED_DIR = os.environ.get("STUDIO_TRAINED_DIR") or None

REGISTRY = ModelRegistry(TRAINED_DIR) if TRAINED_DIR else ModelRegistry()

SUMMARY_KEYS = (
    ("fd", "Fréchet distance ↓"), ("precision", "precision ↑"), ("recall", "recall ↑"),
    ("density", "density"), ("coverage", "coverage ↑"), ("classes_covered", "classes covered"),
    ("kl_to_uniform", "class KL to uniform ↓"), ("neg_elbo_bpd", "neg. ELBO bits/dim (bound) ↓"),
    ("nll_bpd", "test NLL bits/dim (exact, dequantized) ↓"),
    ("nll_bits_per_token", "test NLL bits per code token ↓"),
)
MAX_FRAMES = 16
RESCORE_SAMPLES = 2000


READING_GUIDE = """
- **Fréchet distance** compares the reference classifier's features of 10,000 samples with those of the
  10,000 Fashion-MNIST test images. Lower is better; 10,000 real training images score 0.07.
- **Precision** is the share of samples that land on the real data's manifold (fidelity);
  **recall** the share of real images whose neighbourhood the samples reach (diversity).
  **Density** and **coverage** are outlier-robust versions of the two.
- **Class histogram**: the reference classifier labels every sample. A healthy generator spreads its
  samples over all ten classes; a collapsed one piles them into a few. *KL to uniform* sums that up:
  0 is perfectly balanced, 2.30 is a single class.
- **Bits/dim** exists only for likelihood models: the flow's is exact for its dequantized model, the
  VAE's is an upper bound (its negative ELBO). A GAN has none.
"""


def generator_for(model_id: object):  # noqa: ANN201
    return _generator_for(REGISTRY, model_id)


# -- panel content -------------------------------------------------------------------
def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def describe(model_id: str) -> tuple[str, pd.DataFrame]:
    """A model's recorded metrics (markdown) and class histogram (for the bar plot)."""
    try:
        model = REGISTRY.get(str(model_id))
    except UnknownModel as exc:
        return f"**{exc.args[0]}**", histogram_frame(None)
    if not model.available:
        return (f"**Unavailable.** {model.problem}\n\nRebuild it with `{model.rebuild_command}`",
                histogram_frame(None))
    m = model.metrics
    rows = "\n".join(f"| {label} | {_fmt(m[key])} |" for key, label in SUMMARY_KEYS if key in m)
    if m.get("classes_covered", 10) < len(FASHION_MNIST_CLASSES):
        flag = f"⚠️ mode collapse: only {m['classes_covered']} of {len(FASHION_MNIST_CLASSES)} classes get ≥ 1% of samples"
    elif m.get("mode_collapse"):
        flag = f"⚠️ unbalanced: every class is present, but KL to uniform is {m['kl_to_uniform']:.2f} (> 0.1)"
    else:
        flag = "balanced over all classes, no collapse flagged"
    text = (f"**{model.id}** · {model.entry['family'].upper()} · {model.entry['steps']} steps · "
            f"runs on `{model.generator.provider}`\n\n"
            f"| recorded metric ({m.get('n_samples', '?')} samples, seed {m.get('seed', '?')}) | value |\n|---|---|\n"
            f"{rows}\n\nClass mix: {flag}.")
    return text, histogram_frame(m.get("class_histogram"))


def histogram_frame(hist: list[float] | None) -> pd.DataFrame:
    return compare.histogram_frame(hist, FASHION_MNIST_CLASSES)


def generate(model_id: str, seed: object, count: object) -> tuple[np.ndarray, str, pd.DataFrame]:
    """Grid of ``count`` images from ``model_id`` for ``seed``, with its card and class histogram."""
    count_n = parse_whole_number(count, "Number of images", 1, MAX_IMAGES)
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    generator = generator_for(model_id)
    images = generator.sample(count_n, seed=seed_n)  # (count, 28, 28, 1) uint8
    info, hist = describe(model_id)
    return make_grid(images, scale=GRID_SCALE), info, hist


def generate_both(left_model: str, right_model: str, seed: object, left_count: object, right_count: object):
    """The same seed through both panels."""
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    left = generate(left_model, seed_n, left_count)
    right = generate(right_model, seed_n, right_count)
    return (seed_n, seed_n, *left, *right)


# -- compare -----------------------------------------------------------------------------
def image_model_ids() -> list[str]:
    return REGISTRY.ids("image")


def generate_all(seed: object, count: object) -> list[np.ndarray | None]:
    """Every image model's grid for one seed; an unavailable model shows no grid, not an error."""
    count_n = parse_whole_number(count, "Number of images", 1, MAX_IMAGES)
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    grids = []
    for model_id in image_model_ids():
        model = REGISTRY.get(model_id)
        grids.append(make_grid(model.generator.sample(count_n, seed=seed_n), scale=2) if model.available else None)
    return grids


def recorded_comparison() -> tuple[pd.DataFrame, pd.DataFrame]:
    table = compare.metrics_table(REGISTRY, "image")
    return table, compare.share_metrics_frame(table)


def rescore_now(seed: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Recompute the metrics live on a smaller sample (RESCORE_SAMPLES per model)."""
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    try:
        live = compare.rescore(REGISTRY, "image", RESCORE_SAMPLES, seed_n)
    except FileNotFoundError as exc:
        raise gr.Error(str(exc)) from None
    table = compare.metrics_table(REGISTRY, "image", live=live)
    return table, compare.share_metrics_frame(table)


def interpolate(model_id: str, seed_a: object, seed_b: object, frames: object) -> np.ndarray:
    """A strip of frames walking the latent space from seed A's noise to seed B's."""
    a = parse_whole_number(seed_a, "Seed A", 0, MAX_SEED)
    b = parse_whole_number(seed_b, "Seed B", 0, MAX_SEED)
    n = parse_whole_number(frames, "Frames", 2, MAX_FRAMES)
    generator = generator_for(model_id)
    if not generator.z_dim:
        raise gr.Error(f"'{model_id}' draws its samples token by token and has no latent noise to walk through. "
                       "Pick a latent model (GAN, VAE or flow).")
    images = generator.run(compare.slerp_noise(generator.z_dim, a, b, n))
    return make_grid(images, columns=n, scale=GRID_SCALE)


# -- layout ----------------------------------------------------------------------------
def model_choices(modality: str, latent_only: bool = False) -> list[tuple[str, str]]:
    choices = []
    for model_id in REGISTRY.ids(modality):
        model = REGISTRY.get(model_id)
        if latent_only and model.entry.get("kind", "one-shot") != "one-shot":
            continue
        choices.append((model_id if model.available else f"{model_id} (unavailable)", model_id))
    return choices


def image_panel(side: str, default: str | None) -> dict[str, gr.components.Component]:
    with gr.Column(elem_id=f"panel-{side}"):
        model = gr.Dropdown(model_choices("image"), value=default, label="Model", allow_custom_value=True,
                            elem_id=f"model-{side}")
        with gr.Row():
            seed = gr.Number(value=0, label="Seed", precision=None, elem_id=f"seed-{side}")
            count = gr.Number(value=16, label=f"Images (1–{MAX_IMAGES})", precision=None, elem_id=f"count-{side}")
        button = gr.Button("Generate", variant="primary", elem_id=f"generate-{side}")
        grid = gr.Image(label="Samples", type="numpy", format="png", interactive=False, elem_id=f"grid-{side}")
        info_text, hist_value = describe(default) if default else ("", histogram_frame(None))
        info = gr.Markdown(info_text, elem_id=f"info-{side}")
        hist = gr.BarPlot(hist_value, x="class", y="share", label="Class histogram (recorded, reference classifier)",
                          sort=list(FASHION_MNIST_CLASSES), x_label_angle=-30,
                          elem_id=f"hist-{side}")
    button.click(generate, [model, seed, count], [grid, info, hist], api_name=f"generate_{side}",
                 concurrency_limit=4)
    model.change(describe, [model], [info, hist], api_name=f"describe_{side}", concurrency_limit=4)
    return {"model": model, "seed": seed, "count": count, "grid": grid, "info": info, "hist": hist}


def interpolation_section(image_ids: list[str]) -> None:
    latent = [value for _, value in model_choices("image", latent_only=True)]
    gr.Markdown("### Latent interpolation\nWalk from one seed's noise to another's: a smooth path means the "
                "generator learned a continuous space rather than memorising pictures.")
    with gr.Row():
        model = gr.Dropdown(model_choices("image", latent_only=True), value=latent[0] if latent else None,
                            label="Model", allow_custom_value=True, elem_id="interp-model")
        seed_a = gr.Number(value=1, label="Seed A", precision=None, elem_id="interp-seed-a")
        seed_b = gr.Number(value=2, label="Seed B", precision=None, elem_id="interp-seed-b")
        frames = gr.Number(value=8, label=f"Frames (2–{MAX_FRAMES})", precision=None, elem_id="interp-frames")
        button = gr.Button("Interpolate", elem_id="interp-run")
    strip = gr.Image(label="Interpolation", type="numpy", format="png", interactive=False, elem_id="interp-strip")
    button.click(interpolate, [model, seed_a, seed_b, frames], [strip], api_name="interpolate", concurrency_limit=4)


def compare_tab(image_ids: list[str]) -> None:
    gr.Markdown("Every image generator on the same seed. The table and charts are the recorded metrics "
                "(10,000 samples each); **Re-score now** recomputes them live on "
                f"{RESCORE_SAMPLES:,} samples per model, so expect small differences.")
    with gr.Row():
        seed = gr.Number(value=0, label="Seed", precision=None, elem_id="compare-seed")
        count = gr.Number(value=16, label=f"Images per model (1–{MAX_IMAGES})", precision=None,
                          elem_id="compare-count")
        run_all = gr.Button("Generate all", variant="primary", elem_id="compare-generate-all")
    grids = []
    with gr.Row():
        for model_id in image_ids:
            grids.append(gr.Image(label=model_id, type="numpy", format="png", interactive=False,
                                  elem_id=f"compare-grid-{model_id}"))
    table_value, chart_value = recorded_comparison()
    table = gr.Dataframe(table_value, label="Metrics (one row per model)", interactive=False,
                         elem_id="compare-table")
    rescore = gr.Button("Re-score now", elem_id="compare-rescore")
    chart = gr.BarPlot(chart_value, x="metric", y="value", color="model", label="Precision, recall, density, coverage",
                       elem_id="compare-chart")
    with gr.Row():
        for model_id in image_ids:
            model = REGISTRY.get(model_id)
            gr.BarPlot(histogram_frame(model.metrics.get("class_histogram")), x="class", y="share",
                       sort=list(FASHION_MNIST_CLASSES), x_label_angle=-30, label=f"{model_id}: class histogram",
                       elem_id=f"compare-hist-{model_id}")
    with gr.Row():
        for model_id in image_ids:
            gr.LinePlot(compare.curves_frame(REGISTRY.get(model_id).curves), x="step", y="value", color="series",
                        label=f"{model_id}: training curves", elem_id=f"compare-curves-{model_id}")
    run_all.click(generate_all, [seed, count], grids, api_name="generate_all", concurrency_limit=2)
    rescore.click(rescore_now, [seed], [table, chart], api_name="rescore", concurrency_limit=1)


def build_demo() -> gr.Blocks:
    image_ids = REGISTRY.ids("image")
    with gr.Blocks(title="Generative Studio") as demo:
        gr.Markdown(
            "# Generative Studio\n"
            "Generators trained by this project's scripts, exported to ONNX and run here through ONNX Runtime. "
            "Compare two side by side: same seed, same noise, different model. The numbers beside each model are "
            "recorded by `scripts/evaluate.py` from its ONNX file: images against the Fashion-MNIST test set, "
            "text against four Shakespeare plays no model saw in training.")
        if REGISTRY.manifest_problem:
            gr.Markdown(f"**The model list could not be read:** {REGISTRY.manifest_problem}")
        with gr.Tab("Images", elem_id="tab-images"):
            with gr.Row():
                shared_seed = gr.Number(value=0, label="Seed for both panels", precision=None, elem_id="seed-both")
                both = gr.Button("Generate both with this seed", elem_id="generate-both")
            with gr.Row():
                left = image_panel("left", image_ids[0] if image_ids else None)
                right = image_panel("right", image_ids[1] if len(image_ids) > 1 else (image_ids[0] if image_ids else None))
            both.click(generate_both,
                       [left["model"], right["model"], shared_seed, left["count"], right["count"]],
                       [left["seed"], right["seed"], left["grid"], left["info"], left["hist"],
                        right["grid"], right["info"], right["hist"]],
                       api_name="generate_both", concurrency_limit=2)
            with gr.Accordion("How to read the numbers", open=False, elem_id="help-images"):
                gr.Markdown(READING_GUIDE)
            interpolation_section(image_ids)
        with gr.Tab("Text", elem_id="tab-text"):
            text_tab(REGISTRY)
        with gr.Tab("Music", elem_id="tab-music"):
            music_tab(REGISTRY)
        with gr.Tab("Compare", elem_id="tab-compare"):
            compare_tab(image_ids)
            text_compare_section(REGISTRY)
            music_compare_section(REGISTRY)
    return demo


demo = build_demo()


def main() -> None:
    parser = argparse.ArgumentParser(description="Generative Studio web app")
    parser.add_argument("--share", action="store_true", help="ask Gradio for a public share link")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args()
    demo.queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, share=args.share, ssr_mode=False,
        theme=gr.themes.Default(), footer_links=["api"])


if __name__ == "__main__":
    main()
