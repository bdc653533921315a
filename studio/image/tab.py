"""The Images tab and the image part of the Compare tab: handlers (plain functions) and layout."""

from __future__ import annotations

import functools

import gradio as gr
import numpy as np

from studio.image import MODALITY
from studio.image import complete as completion
from studio.image.codec import make_grid
from studio.image.data import CLASS_NAMES
from studio.image.protocol import draw
from studio.onnx.runtime import ConditionError, slerp_noise
from studio.registry.serving import ModelRegistry
from studio.ui import charts
from studio.ui.controls import (
    UNREADABLE,
    CheckedImage,
    CheckedImageEditor,
    LooseCheckboxGroup,
    LooseNumber,
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
ANY_CLASS = "any"
CLASS_CHOICES = (ANY_CLASS, *CLASS_NAMES)
MAX_COMPLETION_SEEDS = 8
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


def class_index(class_name: object) -> int:
    """A class picker's value -> the label a conditional generator takes (-1: any class)."""
    name = ANY_CLASS if class_name in (None, "") else str(class_name)
    if name == ANY_CLASS:
        return -1
    if name not in CLASS_NAMES:
        raise gr.Error(f"'{name}' is not a Fashion-MNIST class: choose {ANY_CLASS} or one of {', '.join(CLASS_NAMES)}.")
    return CLASS_NAMES.index(name)


def steerable(registry: ModelRegistry, condition: str) -> list[str]:
    """The servable image models whose files take ``condition`` ("class" or "region")."""
    return [m for m in registry.ids("image") if condition in registry.get(m).conditions and registry.get(m).available]


@remembered
def grid_file(registry: ModelRegistry, model_id: str, seed: int, count: int, label: int = -1) -> str:
    """PNG of ``count`` images from ``model_id`` for ``seed`` (deterministic, so finished files are reused),
    of class ``label`` when it is not -1."""
    generator = generator_for(registry, model_id)
    if label < 0:
        images = draw(generator, count, seed, **registry.get(model_id).sampling)  # (count, 28, 28, 1) uint8
    elif "class" not in registry.get(model_id).conditions:
        able = ", ".join(steerable(registry, "class")) or "none is registered yet"
        raise gr.Error(f"'{model_id}' draws from noise alone and cannot be asked for a class. Set Class to "
                       f"{ANY_CLASS}, or pick a model that takes one ({able}).")
    else:
        try:
            images = generator.sample(count, seed=seed, label=label, **registry.get(model_id).sampling)
        except ConditionError as exc:
            raise gr.Error(str(exc)) from None
    suffix = "" if label < 0 else f"-class{label}"
    return png_path(make_grid(images, scale=GRID_SCALE), f"{model_id}-seed{seed}-n{count}{suffix}")


def generate(registry: ModelRegistry, model_id: str, seed: object, count: object,
             class_name: object = ANY_CLASS) -> tuple[str, str, str]:
    """Grid of ``count`` images from ``model_id`` for ``seed`` (a PNG path), of the class picked (a conditional
    model only; "any" draws from every class), with the model's card and class histogram."""
    count_n = parse_whole_number(count, "Number of images", 1, MAX_IMAGES)
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    path = grid_file(registry, str(model_id), seed_n, count_n, class_index(class_name))
    info, hist = describe_image(registry, model_id)
    return path, info, hist


def generate_both(registry: ModelRegistry, left_model: str, right_model: str, seed: object, left_count: object,
                  right_count: object, left_class: object = ANY_CLASS, right_class: object = ANY_CLASS) -> tuple:
    """The same seed through both panels."""
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    left = generate(registry, left_model, seed_n, left_count, left_class)
    right = generate(registry, right_model, seed_n, right_count, right_class)
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


def alt_for(model_id: object, seed: object, count: object, class_name: object = ANY_CLASS) -> dict:
    """The grid's alt text: what a screen reader says instead of the picture."""
    of = "" if class_name in (None, "", ANY_CLASS) else f" of class {class_name}"
    return gr.update(alt_text=f"{count} generated Fashion-MNIST images{of} from {model_id}, seed {seed}")


# -- layout ----------------------------------------------------------------------------
def image_panel(registry: ModelRegistry, side: str, default: str | None) -> dict[str, gr.components.Component]:
    with gr.Column(elem_id=f"panel-{side}", min_width=300):
        model = model_dropdown(model_choices(registry, "image", variants=True), default, f"model-{side}")
        with gr.Row(equal_height=True):
            seed = seed_box(0, "Seed", f"seed-{side}")
            count = LooseSlider(1, MAX_IMAGES, value=16, step=1, label="Images", elem_id=f"count-{side}", scale=3)
        klass = gr.Dropdown(list(CLASS_CHOICES), value=ANY_CLASS, label="Class (models that steer by class)",
                            elem_id=f"class-{side}")
        button = gr.Button("Generate", variant="primary", elem_id=f"generate-{side}")
        status = status_line(f"status-{side}")
        grid = gr.Image(None, label="Samples", type="filepath", interactive=False, elem_id=f"grid-{side}",
                        alt_text=f"16 generated Fashion-MNIST images from {default}, seed 0")
        info = gr.Markdown("", elem_id=f"info-{side}", elem_classes=["metrics"])
        hist = chart_image(None, "Class histogram of the model's samples (recorded)", f"hist-{side}")
        if default and registry.get(default).available:
            show_on_open([grid, info, hist], lambda: generate(registry, default, 0, 16), f"images {side}")
    button.click(functools.partial(generate, registry), [model, seed, count, klass], [grid, info, hist],
                 api_name=f"generate_{side}", concurrency_limit=4, **keep_results(status)).success(
        alt_for, [model, seed, count, klass], [grid], api_visibility="private", show_progress="hidden")
    model.change(functools.partial(describe_image, registry), [model], [info, hist], api_name=f"describe_{side}",
                 concurrency_limit=4, **keep_results(status))
    return {"model": model, "seed": seed, "count": count, "class": klass, "grid": grid, "info": info, "hist": hist,
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
               [left["model"], right["model"], shared_seed, left["count"], right["count"], left["class"],
                right["class"]],
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
    completion_section(registry)


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
    gr.Markdown(steering_table(registry), elem_id="compare-steering", elem_classes=["table-wrap"])  # scrolls
    curves_section(registry, ids, "compare")
    run_all.click(functools.partial(generate_all, registry), [seed, count], grids, api_name="generate_all",
                  concurrency_limit=2, **keep_results(status))


# -- Complete a picture ----------------------------------------------------------------------------------
def held_out_picture(image_index: object) -> tuple[np.ndarray, str]:
    """(uint8 [28, 28, 1], what it is) for a held-out test picture's number."""
    pictures, labels = completion.held_out_pictures()
    index = parse_whole_number(image_index, "Test picture", 0, len(pictures) - 1)
    return pictures[index], f"held-out test picture {index} ({CLASS_NAMES[labels[index]]})"


def starting_picture(image_index: object, upload: object) -> tuple[np.ndarray, str]:
    """The uploaded picture when there is one, else the held-out test picture."""
    if upload == UNREADABLE or (upload and not isinstance(upload, str)):
        raise gr.Error("The upload could not be read: upload a PNG, JPEG or WebP image, or leave it empty to use "
                       "a held-out test picture.")
    if upload:
        try:
            return completion.picture_from_file(str(upload)), "your picture"
        except completion.PictureError as exc:
            raise gr.Error(str(exc)) from None
    return held_out_picture(image_index)


def canvas_for(image_index: object, upload: object) -> dict:
    """The painting canvas, showing the starting picture enlarged and no strokes."""
    picture, _ = starting_picture(image_index, upload)
    big = completion.canvas_background(picture)
    return {"background": big, "layers": [], "composite": big}


def random_picture() -> tuple[int, dict]:
    """A random held-out test picture's number, and the canvas showing it."""
    index = int(np.random.default_rng().integers(len(completion.held_out_pictures()[0])))
    return index, canvas_for(index, None)


def complete(registry: ModelRegistry, image_index: object, upload: object, region: object, strokes: object,
             models: object, seeds: object, seed: object) -> tuple[str, str]:
    """Every chosen model fills the hidden region of the picture for ``seeds`` seeds from ``seed``: a picture
    with one row per model (the original, the picture with its hole, then the fills; a PNG path) and a line on
    what was completed."""
    seeds_n = parse_whole_number(seeds, "Seeds per model", 1, MAX_COMPLETION_SEEDS)
    seed_n = parse_whole_number(seed, "First seed", 0, MAX_SEED - MAX_COMPLETION_SEEDS)
    picture, what = starting_picture(image_index, upload)
    layers = strokes.get("layers") if isinstance(strokes, dict) else None
    try:
        mask = completion.region_mask(str(region), layers)
    except completion.PictureError as exc:
        raise gr.Error(str(exc)) from None
    if isinstance(models, str):
        models = [models]
    if models is not None and not isinstance(models, (list, tuple)):
        raise gr.Error(f"Models must be a list of model ids, e.g. {steerable(registry, 'region')[:1]}; got {models!r}.")
    chosen = [str(m) for m in (models or [])]
    if not chosen:
        raise gr.Error("No model is ticked: tick at least one model that completes pictures.")
    rows = []
    for model_id in chosen:
        if model_id not in registry.ids("image") or "region" not in registry.get(model_id).conditions:
            able = ", ".join(steerable(registry, "region")) or "none is registered yet"
            raise gr.Error(f"'{model_id}' cannot complete pictures; tick one that can ({able}).")
        fills = completion.fills(registry, model_id, picture, mask, list(range(seed_n, seed_n + seeds_n)))
        rows.append((model_id, completion.strip(picture, mask, fills)))
    hidden = int((mask == 0).sum())
    note = (f"Completed {what}: {hidden} of 784 pixels hidden ({hidden / 784:.0%}), {seeds_n} fills per model "
            f"(seeds {seed_n}-{seed_n + seeds_n - 1}); the given pixels are kept exactly. Each model's row, under "
            "its name: the original, the hidden region in pink, then its fills.")
    if hidden == 784:
        note += " Everything is hidden, so the models draw from nothing."
    return png_path(completion.sheet(rows), "completions"), note


def completion_section(registry: ModelRegistry) -> None:
    able = steerable(registry, "region")
    gr.Markdown("### Complete a picture\nHide part of a picture and let the models fill it in, several times "
                "each. The given pixels stay exactly as they are; a model that understood the picture fills the "
                "hole with the same kind of garment, in more than one way.", elem_id="complete-intro")
    with gr.Row():
        with gr.Column(min_width=300):
            with gr.Row(equal_height=True):
                index = LooseNumber(0, precision=0, minimum=0, label="Held-out test picture (0-299)",
                                    elem_id="complete-index")
                dice = gr.Button("🎲 Random picture", elem_id="complete-dice")
            upload = CheckedImage(None, type="filepath", sources=["upload"], label="…or upload your own (any image; it "
                              "becomes 28×28 grey)", elem_id="complete-upload", height=160)
            region = gr.Radio(list(completion.REGIONS), value=completion.REGIONS[0], label="Region to hide",
                              elem_id="complete-region")
        with gr.Column(min_width=300):
            canvas = CheckedImageEditor(canvas_for(0, None), type="numpy", sources=(), transforms=(), layers=False,
                                    brush=gr.Brush(colors=["#ff00aa"], color_mode="fixed", default_size=30),
                                    eraser=gr.Eraser(default_size=30), canvas_size=(280, 280), fixed_canvas=True,
                                    label="Or paint the part to hide: pick the brush on the left, then paint",
                                    elem_id="complete-canvas")
    with gr.Row(equal_height=True):
        models = LooseCheckboxGroup(able, value=able, label="Models that complete pictures", elem_id="complete-models",
                                  scale=3)
        seeds = LooseSlider(1, MAX_COMPLETION_SEEDS, value=6, step=1, label="Fills per model", elem_id="complete-seeds")
        seed = seed_box(0, "First seed", "complete-seed")
    button = gr.Button("Complete", variant="primary", elem_id="complete-run")
    status = status_line("complete-status")
    note = gr.Markdown("", elem_id="complete-note")
    # No label badge: it would cover the first model's name; the note above says what the rows hold.
    result = gr.Image(None, label="Each model's row: the original, the hidden region (pink), then its fills",
                      show_label=False, type="filepath", interactive=False, elem_id="complete-result",
                      alt_text="Completions of the picture by each model")
    dice.click(random_picture, [], [index, canvas], api_visibility="private")
    index.submit(canvas_for, [index, upload], [canvas], api_visibility="private")
    upload.change(canvas_for, [index, upload], [canvas], api_visibility="private")
    canvas.input(painted_region, [canvas, region], [region], api_visibility="private", show_progress="hidden")
    button.click(functools.partial(complete, registry), [index, upload, region, canvas, models, seeds, seed],
                 [result, note], api_name="complete", concurrency_limit=4, **keep_results(status))


def painted_region(strokes: object, region: object) -> str:
    """Painting on the canvas picks 'my strokes'; a cleared canvas leaves the choice as it is."""
    layers = strokes.get("layers") if isinstance(strokes, dict) else None
    return completion.STROKES if layers and not completion.mask_from_strokes(layers).all() else str(region)


def reference_accuracy() -> str:
    """The reference classifier's recorded test accuracy (what real images score on class accuracy)."""
    import json

    from studio.image.metrics import REFERENCE_DIR

    try:
        return f"{json.loads((REFERENCE_DIR / 'metrics.json').read_text())['test_accuracy']:.2f}"
    except (OSError, ValueError, KeyError):
        return "not recorded"


def steering_table(registry: ModelRegistry) -> str:
    """Markdown: how each image model steers (recorded by its protocol), or which cannot."""
    from studio.image.steering import steering_rows

    head = ("### Steering\nA class asked for, and pictures completed, on the Fashion-MNIST test set "
            "(`python scripts/evaluate.py <id>` recomputes these; docs/metrics.md explains them). *Class accuracy*: "
            f"the reference classifier reads the asked class (real test images: {reference_accuracy()}). "
            "*CAS*: a classifier trained on the model's 10,000 class-conditional samples, tested on real images. "
            "*Agreement*: the completion keeps the original's class, beside filling the hole with the training "
            "mean. *Spread*: how much the fills of one hole differ over 8 seeds (grey levels).\n\n")
    steered = {m: registry.get(m).metrics["steering"] for m in registry.ids("image")
               if registry.get(m).metrics.get("steering")}
    cannot = [m for m in registry.ids("image") if m not in steered]
    rows = steering_rows(steered)
    if not steered:
        return head + "No image model registered here steers yet."
    tail = f"\n\nDraw from noise only (no class, no completion): {', '.join(cannot)}." if cannot else ""
    return head + "\n".join(rows) + tail
