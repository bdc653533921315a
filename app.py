"""Generative Studio web app: serve the generators in trained/ through ONNX Runtime.

    python app.py            # http://127.0.0.1:7860
    python app.py --share    # also ask Gradio for a public link

Imports no torch: everything runs from the committed ONNX files.
"""

from __future__ import annotations

import argparse
import math
import os

# Before gradio is imported: no analytics, no telemetry, no calls home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from studio.data.labels import FASHION_MNIST_CLASSES  # noqa: E402
from studio.modalities.image import make_grid  # noqa: E402
from studio.runtime import GeneratorUnavailable  # noqa: E402
from studio.serving import ModelRegistry, UnknownModel  # noqa: E402

MAX_IMAGES = 64
MAX_SEED = 2**31 - 1
GRID_SCALE = 3
TRAINED_DIR = os.environ.get("STUDIO_TRAINED_DIR") or None

REGISTRY = ModelRegistry(TRAINED_DIR) if TRAINED_DIR else ModelRegistry()

SUMMARY_KEYS = (
    ("fd", "Fréchet distance ↓"), ("precision", "precision ↑"), ("recall", "recall ↑"),
    ("density", "density"), ("coverage", "coverage ↑"), ("classes_covered", "classes covered"),
    ("kl_to_uniform", "class KL to uniform ↓"), ("neg_elbo_bpd", "neg. ELBO bits/dim (bound) ↓"),
)


READING_GUIDE = """
- **Fréchet distance** compares the reference classifier's features of 10,000 samples with those of the
  10,000 Fashion-MNIST test images. Lower is better; 10,000 real training images score 0.07.
- **Precision** is the share of samples that land on the real data's manifold (fidelity);
  **recall** the share of real images whose neighbourhood the samples reach (diversity).
  **Density** and **coverage** are outlier-robust versions of the two.
- **Class histogram**: the reference classifier labels every sample. A healthy generator spreads its
  samples over all ten classes; a collapsed one piles them into a few. *KL to uniform* sums that up:
  0 is perfectly balanced, 2.30 is a single class.
- **Bits/dim** exists only for likelihood models; the VAE's is an upper bound (its negative ELBO).
"""


# -- input checks ----------------------------------------------------------------------
def parse_whole_number(value: object, name: str, low: int, high: int) -> int:
    """A whole number in [low, high], or a gr.Error that says what to type."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise gr.Error(f"{name} is empty: enter a whole number from {low} to {high}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a whole number from {low} to {high}, not '{value}'.") from None
    if not math.isfinite(number) or number != int(number):
        raise gr.Error(f"{name} must be a whole number from {low} to {high}, not {value}.")
    if not low <= number <= high:
        raise gr.Error(f"{name} must be from {low} to {high}; you asked for {int(number)}.")
    return int(number)


def generator_for(model_id: object):
    try:
        return REGISTRY.generator(str(model_id))
    except UnknownModel as exc:
        raise gr.Error(exc.args[0]) from None
    except GeneratorUnavailable as exc:
        raise gr.Error(str(exc)) from None


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
    shares = hist if hist else [0.0] * len(FASHION_MNIST_CLASSES)
    return pd.DataFrame({"class": list(FASHION_MNIST_CLASSES), "share": shares})


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


# -- layout ----------------------------------------------------------------------------
def model_choices(modality: str) -> list[tuple[str, str]]:
    choices = []
    for model_id in REGISTRY.ids(modality):
        model = REGISTRY.get(model_id)
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


def build_demo() -> gr.Blocks:
    image_ids = REGISTRY.ids("image")
    with gr.Blocks(title="Generative Studio") as demo:
        gr.Markdown(
            "# Generative Studio\n"
            "Generators trained by this project's scripts, exported to ONNX and run here through ONNX Runtime. "
            "Compare two side by side: same seed, same noise, different model. The numbers under each grid are "
            "recorded by `scripts/evaluate.py` on 10,000 samples against the Fashion-MNIST test set.")
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
