"""The Text tab and the text part of the Compare tab: handlers (plain functions) and layout."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import gradio as gr
import numpy as np

from studio.registry import manifest
from studio.registry.serving import ModelRegistry
from studio.text import MODALITY
from studio.text.codec import decode, decode_lines, encode_lines, map_prompt
from studio.text.temperature import read_curve
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
from studio.ui.describe import describe, is_autoregressive, model_choices
from studio.ui.first_screen import show_on_open
from studio.ui.inputs import MAX_SEED, encoded_line, generator_for, parse_number, parse_whole_number
from studio.ui.results import figure_path

MAX_PROMPT_CHARS = 2000
MAX_NEW_CHARS = 1000
MAX_LINES = 32
MAX_TEMPERATURE = 2.0
MAX_STEPS = 12
STREAM_EVERY = 8  # characters between streamed updates
EMPTY_PROMPT = "\n"  # an empty prompt starts the model at the beginning of a line
DEFAULT_TEMPERATURE, DEFAULT_TOP_P = 0.8, 0.95  # the panels' defaults (human evaluation samples with them too)

SCHEMA = MODALITY.schema
CHART_METRICS = ("fd", "ref_perplexity", "distinct_2", "novelty", "real_word_share", "degenerate_share", "char3_js")
RESCORE_SAMPLES = 300
INTRO = ("**Shakespeare**: lines from his plays, written one character at a time. The Transformer continues "
         "your prompt; the GAN, VAE and flow write whole 48-character lines from noise. Pick two models and "
         "press **Generate**; the numbers below say how Shakespeare-like and how varied each one is.")
EXAMPLE_PROMPTS = ("ROMEO.\n", "HAMLET.\nTo be, or not", "KING RICHARD.\nNow is the", "Enter a Messenger.\n")
READING_GUIDE = """
Every model is scored on 5,000 generated lines against the lines of four held-out plays (Hamlet, Twelfth
Night, Richard II, The Winter's Tale), which no model saw in training.
- **distinct-n**: distinct word n-grams over all word n-grams. Low means the model repeats itself; below half
  the held-out text's distinct-2 the model is flagged as **collapsed**.
- **novelty**: the share of generated 20-character spans that never occur in the training plays. 1.0 with
  gibberish is easy; high novelty *and* real words *and* a low perplexity is the goal.
- **real words**: the share of generated words found in the training plays' vocabulary.
- **degenerate lines** and **char 3-gram JS** see failure below the word level, where distinct-n is blind
  (unique nonsense words look "diverse"): the share of lines with a character 4+ times in a row or a vowelless
  word of 4+ letters, and the Jensen–Shannon divergence of the character 3-grams from other held-out lines'
  (0 = the same mix, 1 = nothing in common). Past 10% or 0.25 the model is flagged **degenerate**.
- **Temperature**: below 1 each model writes likelier text, above 1 more varied text. The Transformer divides
  its logits by it; the VAE and the flow scale the noise that picks each character (0: the most likely
  character every time); the GAN scales its input noise.
- **Fréchet distance** and **reference perplexity** come from a frozen character model trained once on the
  training plays: FD compares its features of generated and held-out lines; perplexity is how surprised it
  is by the generated lines (the held-out lines' own value is shown for scale).
- **bits/char** exists only for likelihood models: the Transformer's and the flow's are exact (the flow's
  dequantization cells hold one character each, so they cost nothing), the VAE's is a bound (its negative ELBO).
  The VAE and the flow score 48-character lines padded with spaces, padding included (cheap to predict); the
  Transformer scores the running text. Compare line models with line models.
"""


def describe_text(registry: ModelRegistry, model_id: object) -> str:
    """A text model's recorded metrics as markdown, with its collapse verdict."""
    how = "prompt continuation, token by token" if is_autoregressive(registry, model_id) else \
        "whole lines"
    return describe(registry, SCHEMA, model_id, how)


def prompt_ids(prompt: object, charset: str) -> tuple[np.ndarray, str]:
    """The prompt as ids on the model's charset, and a note on what was changed (empty when nothing)."""
    text = "" if prompt is None else str(prompt)
    if len(text) > MAX_PROMPT_CHARS:
        raise gr.Error(f"The prompt is {len(text):,} characters; the limit is {MAX_PROMPT_CHARS:,}. Shorten it.")
    mapped = map_prompt(text, charset)
    notes = []
    if mapped.dropped:
        notes.append(f"left out characters the model never saw: {' '.join(repr(c) for c in mapped.dropped)}")
    if not mapped.text:
        notes.append("empty prompt: the model starts a new line")
        mapped = map_prompt(EMPTY_PROMPT, charset)
    return mapped.ids, "; ".join(notes)


def generate_text(registry: ModelRegistry, model_id: object, prompt: object, seed: object, temperature: object,
                  length: object, lines: object, top_k: object, top_p: object) -> Iterator[tuple[str, str]]:
    """(text, note) as it grows: a Transformer continues the prompt character by character (streamed);
    a line model writes ``lines`` whole lines from its noise (the prompt does not apply)."""
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    temp = parse_number(temperature, "Temperature", 0.0, MAX_TEMPERATURE)
    generator = generator_for(registry, model_id)
    charset = generator.info.charset
    if charset is None:
        raise gr.Error(f"'{model_id}' is not a text model. Pick one of: {', '.join(registry.ids('text'))}.")
    if not generator.autoregressive:  # a line model: z -> lines
        n = parse_whole_number(lines, "Lines", 1, MAX_LINES)
        note = "" if not str(prompt or "").strip() else "the prompt applies to the Transformer only; line models " \
                                                        "write whole lines from their noise"
        samples = generator.sample(n, seed=seed_n, temperature=max(temp, 1e-6))
        yield "\n".join(decode_lines(samples, charset)), note
        return
    count = parse_whole_number(length, "Characters", 1, MAX_NEW_CHARS)
    k = parse_whole_number(top_k, "Top-k", 0, len(charset))
    p = parse_number(top_p, "Top-p", 0.0, 1.0, low_open=True)
    ids, note = prompt_ids(prompt, charset)
    if len(ids) >= generator.max_context:
        extra = f"the model reads the last {generator.max_context - 1} characters of the prompt"
        note = f"{note}; {extra}" if note else extra
    shown = decode(ids, charset) if str(prompt or "") else ""
    new: list[str] = []
    steps = generator.stream_ids(ids[None, :], count, seed=seed_n, temperature=temp, top_k=k, top_p=p)
    for i, token in enumerate(steps):
        new.append(charset[int(token[0])])
        if (i + 1) % STREAM_EVERY == 0:
            yield shown + "".join(new), note
    yield shown + "".join(new), note


def interpolate_lines(registry: ModelRegistry, model_id: object, line_a: object, line_b: object,
                      steps: object) -> str:
    """Lines decoded along the straight path between the VAE's posterior means of two lines."""
    n = parse_whole_number(steps, "Steps", 2, MAX_STEPS)
    generator = generator_for(registry, model_id)
    model = registry.get(str(model_id))
    if "encoder" not in model.entry or generator.info.charset is None:
        vaes = [m for m in registry.ids("text") if "encoder" in registry.get(m).entry]
        raise gr.Error(f"'{model_id}' has no encoder, so it cannot place your lines in its latent space. "
                       f"Pick {' or '.join(vaes) or 'a text VAE'}.")
    texts = [str(line_a or "").strip(), str(line_b or "").strip()]
    if not all(texts):
        raise gr.Error("Type a line in both boxes (up to 48 characters each).")
    charset, length = generator.info.charset, generator.info.sample_shape[0]
    path = encoded_line(registry, model.id, encode_lines(texts, charset, length), n, generator.z_dim)
    return "\n".join(decode_lines(generator.run(path), charset))


# -- compare -----------------------------------------------------------------------------
def generate_all_text(registry: ModelRegistry, seed: object, lines: object) -> list[str]:
    """Every text model's lines for one seed (the Transformer's text after a new line)."""
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    n = parse_whole_number(lines, "Lines", 1, MAX_LINES)
    out = []
    for model_id in registry.ids("text"):
        model = registry.get(model_id)
        if not model.available:
            out.append(f"(unavailable: {model.problem})")
            continue
        generator = model.generator
        charset = generator.info.charset
        if not generator.autoregressive:
            out.append("\n".join(decode_lines(generator.sample(n, seed=seed_n), charset)))
        else:
            start = np.array([[charset.index("\n")]], dtype=np.int64)
            text = decode(generator.continue_ids(start, 48 * n, seed=seed_n)[0], charset)
            out.append("\n".join(text.split("\n")[:n]))
    return out


# -- layout ------------------------------------------------------------------------------

def controls_for(registry: ModelRegistry, model_id: object) -> tuple[dict, ...]:
    """Show only what applies: prompt, characters, top-k and top-p for the Transformer; lines for line models."""
    autoregressive = is_autoregressive(registry, model_id)
    return (*(gr.update(visible=autoregressive) for _ in range(4)), gr.update(visible=not autoregressive))


def charset_size(registry: ModelRegistry, model_id: str) -> int:
    """How many characters ``model_id`` writes with: the top-k slider's upper end."""
    model = registry.get(model_id)
    return len(model.generator.info.charset or "") if model.available else 1


def first_text(registry: ModelRegistry, model_id: str, prompt: str) -> str:
    """The panel's text at start-up (default settings), so nobody meets an empty box."""
    if not registry.get(model_id).available:
        return ""
    *_, (text, _) = generate_text(registry, model_id, prompt, 0, 0.8, 300, 8, 0, 0.95)
    return text


def text_panel(registry: ModelRegistry, side: str, default: str) -> dict[str, gr.components.Component]:
    autoregressive = is_autoregressive(registry, default)
    with gr.Column(elem_id=f"text-panel-{side}", min_width=300):
        model = model_dropdown(model_choices(registry, "text", variants=True), default, f"text-model-{side}")
        prompt = gr.Textbox(value="ROMEO.\n", lines=3, max_length=MAX_PROMPT_CHARS, visible=autoregressive,
                            label="Prompt (the Transformer continues it)", elem_id=f"text-prompt-{side}")
        with gr.Row(equal_height=True):
            seed = seed_box(0, "Seed", f"text-seed-{side}")
            temperature = LooseSlider(0.0, MAX_TEMPERATURE, value=DEFAULT_TEMPERATURE, step=0.05,
                                        label="Temperature (0 = most likely)", elem_id=f"text-temperature-{side}",
                                        scale=3)
        with gr.Row():
            length = LooseSlider(1, MAX_NEW_CHARS, value=300, step=1, label="Characters to write",
                                 visible=autoregressive, elem_id=f"text-length-{side}")
            lines = LooseSlider(1, MAX_LINES, value=8, step=1, label="Lines to write", visible=not autoregressive,
                              elem_id=f"text-lines-{side}")
        with gr.Row():
            top_k = LooseSlider(0, charset_size(registry, default), value=0, step=1,
                                  label="Top-k (0 = all characters)", visible=autoregressive,
                                  elem_id=f"text-topk-{side}")
            top_p = LooseSlider(0.05, 1.0, value=DEFAULT_TOP_P, step=0.05, label="Top-p (nucleus)",
                                visible=autoregressive, elem_id=f"text-topp-{side}")
        button = gr.Button("Generate", variant="primary", elem_id=f"text-generate-{side}")
        status = status_line(f"text-status-{side}")
        output = gr.Textbox("", label="Generated text", lines=12, interactive=False, elem_id=f"text-output-{side}")
        note = gr.Markdown("", elem_id=f"text-note-{side}")
        info = gr.Markdown("", elem_id=f"text-info-{side}", elem_classes=["metrics"])
        show_on_open([output, info], lambda: (first_text(registry, default, "ROMEO.\n"),
                                              describe_text(registry, default)), f"text {side}")

    def run(model_id, prompt, seed, temperature, length, lines, top_k, top_p):  # noqa: ANN001, ANN202
        # The parameter names are the API's (/generate_text_*): one name per idea on every endpoint.
        for text, remark in generate_text(registry, model_id, prompt, seed, temperature, length, lines, top_k,
                                          top_p):
            yield text, f"*Note: {remark}.*" if remark else ""

    button.click(run, [model, prompt, seed, temperature, length, lines, top_k, top_p], [output, note],
                 api_name=f"generate_text_{side}", concurrency_limit=4, **keep_results(status))
    model.change(functools.partial(describe_text, registry), [model], [info], api_name=f"describe_text_{side}",
                 concurrency_limit=4, **keep_results(status))
    model.change(functools.partial(controls_for, registry), [model], [prompt, length, top_k, top_p, lines],
                 api_visibility="private", show_progress="hidden")
    return {"model": model, "prompt": prompt, "seed": seed, "output": output, "note": note,
            "inputs": [model, prompt, seed, temperature, length, lines, top_k, top_p], "run": run}


def interpolation_section(registry: ModelRegistry) -> None:
    vaes = model_choices(registry, "text", need="encoder")
    if not vaes:
        return
    gr.Markdown("### Interpolate between two lines\nThe VAE encodes both lines, walks the straight path between "
                "them in its latent space and writes a line at each step: smooth steps mean a meaningful space.")
    with gr.Row(equal_height=True):
        model = model_dropdown(vaes, vaes[0][1], "text-interp-model")
        steps = LooseSlider(2, MAX_STEPS, value=6, step=1, label="Steps", elem_id="text-interp-steps")
    with gr.Row():
        line_a = gr.Textbox(value="To be, or not to be, that is the question", label="Line A", max_length=200,
                            elem_id="text-interp-a")
        line_b = gr.Textbox(value="I will not stay to hear thee speak of love", label="Line B", max_length=200,
                            elem_id="text-interp-b")
    button = gr.Button("Interpolate", elem_id="text-interp-run")
    status = status_line("text-interp-status")
    out = gr.Textbox("", label="Path", lines=MAX_STEPS // 2, interactive=False, elem_id="text-interp-out")
    if registry.get(vaes[0][1]).available:
        show_on_open(out, lambda: interpolate_lines(registry, vaes[0][1], "To be, or not to be, that is the question",
                                                    "I will not stay to hear thee speak of love", 6),
                     "text interpolation")
    button.click(functools.partial(interpolate_lines, registry), [model, line_a, line_b, steps], [out],
                 api_name="interpolate_text", concurrency_limit=4, **keep_results(status))


def build_tab(registry: ModelRegistry) -> None:
    ids = registry.ids("text")
    if not ids:
        gr.Markdown("No text models are registered. Train one with "
                    "`python scripts/train_transformer.py --modality text`.")
        return
    gr.Markdown(INTRO, elem_classes=["tab-intro"])
    autoregressive = [m for m in ids if is_autoregressive(registry, m)]
    left_id = (autoregressive or ids)[0]
    # the Transformer against the VAE: the two families that write the most readable text on this budget
    others = [m for m in ids if m != left_id]
    right_id = next((m for m in others if registry.get(m).entry.get("family") == "vae"), (others or ids)[0])
    with gr.Row():
        left = text_panel(registry, "left", left_id)
        text_panel(registry, "right", right_id)
    if autoregressive:
        gr.Examples([[left_id, p] for p in EXAMPLE_PROMPTS], [left["model"], left["prompt"]],
                    label="Example prompts for the Transformer (click one to continue it on the left)",
                    example_labels=[p.replace("\n", " / ").strip(" /") for p in EXAMPLE_PROMPTS],
                    elem_id="examples-text")
    with gr.Accordion("How to read the numbers", open=False, elem_id="help-text"):
        gr.Markdown(READING_GUIDE)
    interpolation_section(registry)


def temperature_section(registry: ModelRegistry, ids: list[str]) -> None:
    """Each model's quality against diversity from temperature 0.5 to 1.5 (recorded by
    scripts/temperature_curves.py), as a chart with its text summary."""
    curves = {m: c for m in ids if (c := read_curve(manifest.path_of(registry.get(m).entry, "onnx",
                                                                     registry.root).parent))}
    intro = ("One temperature is one arbitrary point of a trade-off: a lower one buys real words with variety. "
             "Each line is one model from temperature 0.5 to 1.5")
    intro += (f", {next(iter(curves.values()))['n_samples']:,} lines at each; up and to the right is better."
              if curves else ". No sweep is recorded yet: run `python scripts/temperature_curves.py`.")
    gr.Markdown(f"### Quality against diversity across temperature\n{intro}", elem_id="compare-text-temperature-intro")
    chart = chart_image(None, "Quality against diversity across temperature", "compare-text-temperature")
    text = gr.Markdown("", elem_id="compare-text-temperature-summary")

    def draw() -> tuple:
        figure, summary = charts.quality_diversity(curves)
        return gr.update(value=figure_path(figure, "text-temperature"), alt_text=summary), f"*{summary}*"

    show_on_open([chart, text], draw, "text temperature chart")


def build_compare(registry: ModelRegistry) -> None:
    ids = registry.ids("text")
    if not ids:
        return
    gr.Markdown("## Text models\nEvery text model on the same seed; the table is the recorded metrics "
                "(5,000 lines each against the held-out plays).")
    with gr.Row(equal_height=True):
        seed = seed_box(0, "Seed", "compare-text-seed")
        lines = LooseSlider(1, MAX_LINES, value=6, step=1, label="Lines per model", elem_id="compare-text-lines",
                          scale=3)
        run_all = gr.Button("Generate all text", variant="primary", elem_id="compare-text-generate-all", scale=2)
    status = status_line("compare-text-status")
    with gr.Row():
        boxes = [gr.Textbox("", label=model_id, lines=6, interactive=False, min_width=220,
                            elem_id=f"compare-text-{model_id}") for model_id in ids]
    show_on_open(boxes, lambda: tuple(generate_all_text(registry, 0, 6)), "text compare")
    metrics_section(registry, MODALITY, CHART_METRICS, "compare-text", RESCORE_SAMPLES, "rescore_text")
    temperature_section(registry, ids)
    curves_section(registry, ids, "compare-text")
    run_all.click(functools.partial(generate_all_text, registry), [seed, lines], boxes, api_name="generate_all_text",
                  concurrency_limit=2, **keep_results(status))
