"""The Text tab and the text part of the Compare tab: handlers (plain functions) and layout."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import gradio as gr
import numpy as np
import pandas as pd

from studio.runtime import GeneratorUnavailable, latent_line
from studio.serving import ModelRegistry
from studio.text import MODALITY
from studio.text.codec import decode, decode_lines, encode_lines, map_prompt
from studio.ui import compare
from studio.ui.describe import describe, model_choices
from studio.ui.inputs import MAX_SEED, generator_for, parse_number, parse_whole_number

MAX_PROMPT_CHARS = 2000
MAX_NEW_CHARS = 1000
MAX_LINES = 32
MAX_TEMPERATURE = 2.0
MAX_STEPS = 12
STREAM_EVERY = 8  # characters between streamed updates
EMPTY_PROMPT = "\n"  # an empty prompt starts the model at the beginning of a line

SCHEMA = MODALITY.schema
CHART_METRICS = ("distinct_2", "novelty", "real_word_share")
READING_GUIDE = """
Every model is scored on 5,000 generated lines against the lines of four held-out plays (Hamlet, Twelfth
Night, Richard II, The Winter's Tale), which no model saw in training.
- **distinct-n**: distinct word n-grams over all word n-grams. Low means the model repeats itself; below half
  the held-out text's distinct-2 the model is flagged as **collapsed**.
- **novelty**: the share of generated 20-character spans that never occur in the training plays. 1.0 with
  gibberish is easy; high novelty *and* real words *and* a low perplexity is the goal.
- **real words**: the share of generated words found in the training plays' vocabulary.
- **Fréchet distance** and **reference perplexity** come from a frozen character model trained once on the
  training plays: FD compares its features of generated and held-out lines; perplexity is how surprised it
  is by the generated lines (the held-out lines' own value is shown for scale).
- **bits/char** exists only for likelihood models: the Transformer's is exact, the VAE's is a bound (its
  negative ELBO), the flow's is exact for its dequantized model and a bound for the text itself.
"""


def describe_text(registry: ModelRegistry, model_id: object) -> str:
    """A text model's recorded metrics as markdown, with its collapse verdict."""
    model = registry.models.get(str(model_id))
    how = "prompt continuation, token by token" if model and model.entry.get("kind") == "autoregressive" else \
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
    if generator.z_dim is not None:  # a line model: z -> lines
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
    try:
        encoder = registry.extra_session(model.id, "encoder")
    except GeneratorUnavailable as exc:
        raise gr.Error(str(exc)) from None
    z = encoder.run(["z"], {"sample": encode_lines(texts, charset, length)})[0]  # (2, latent) posterior means
    return "\n".join(decode_lines(generator.run(latent_line(z[0], z[1], n, generator.z_dim)), charset))


# -- compare -----------------------------------------------------------------------------
def text_table(registry: ModelRegistry) -> pd.DataFrame:
    return compare.metrics_table(registry, MODALITY)


def text_chart(table: pd.DataFrame) -> pd.DataFrame:
    return compare.share_frame(table, SCHEMA, CHART_METRICS)


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
        if generator.z_dim is not None:
            out.append("\n".join(decode_lines(generator.sample(n, seed=seed_n), charset)))
        else:
            start = np.array([[charset.index("\n")]], dtype=np.int64)
            text = decode(generator.continue_ids(start, 48 * n, seed=seed_n)[0], charset)
            out.append("\n".join(text.split("\n")[:n]))
    return out


# -- layout ------------------------------------------------------------------------------
def text_panel(registry: ModelRegistry, side: str, default: str | None) -> dict[str, gr.components.Component]:
    with gr.Column(elem_id=f"text-panel-{side}"):
        model = gr.Dropdown(model_choices(registry, "text"), value=default, label="Model", allow_custom_value=True,
                            elem_id=f"text-model-{side}")
        prompt = gr.Textbox(value="ROMEO.\n", lines=3, label=f"Prompt (Transformer only; up to {MAX_PROMPT_CHARS:,} "
                            "characters)", elem_id=f"text-prompt-{side}")
        with gr.Row():
            seed = gr.Number(value=0, label="Seed", precision=None, elem_id=f"text-seed-{side}")
            temperature = gr.Number(value=0.8, label=f"Temperature (0–{MAX_TEMPERATURE:g}; 0 = greedy)",
                                    precision=None, elem_id=f"text-temperature-{side}")
        with gr.Row():
            length = gr.Number(value=300, label=f"Characters (Transformer, 1–{MAX_NEW_CHARS})", precision=None,
                               elem_id=f"text-length-{side}")
            lines = gr.Number(value=8, label=f"Lines (line models, 1–{MAX_LINES})", precision=None,
                              elem_id=f"text-lines-{side}")
        with gr.Row():
            top_k = gr.Number(value=0, label="Top-k (0 = all)", precision=None, elem_id=f"text-topk-{side}")
            top_p = gr.Number(value=0.95, label="Top-p (nucleus, ≤ 1)", precision=None, elem_id=f"text-topp-{side}")
        button = gr.Button("Generate", variant="primary", elem_id=f"text-generate-{side}")
        output = gr.Textbox(label="Generated text", lines=12, interactive=False, elem_id=f"text-output-{side}")
        note = gr.Markdown("", elem_id=f"text-note-{side}")
        info = gr.Markdown(describe_text(registry, default) if default else "", elem_id=f"text-info-{side}")

    def run(model_id, prompt_value, seed_value, temp, length_value, lines_value, k, p):  # noqa: ANN001, ANN202
        for text, remark in generate_text(registry, model_id, prompt_value, seed_value, temp, length_value,
                                          lines_value, k, p):
            yield text, f"*Note: {remark}.*" if remark else ""

    button.click(run, [model, prompt, seed, temperature, length, lines, top_k, top_p], [output, note],
                 api_name=f"generate_text_{side}", concurrency_limit=4)
    model.change(functools.partial(describe_text, registry), [model], [info], api_name=f"describe_text_{side}",
                 concurrency_limit=4)
    return {"model": model, "seed": seed, "output": output}


def interpolation_section(registry: ModelRegistry) -> None:
    vaes = model_choices(registry, "text", need="encoder")
    gr.Markdown("### Interpolate between two lines\nThe VAE encodes both lines, walks the straight path between "
                "them in its latent space and writes a line at each step: smooth steps mean a meaningful space.")
    with gr.Row():
        model = gr.Dropdown(vaes, value=vaes[0][1] if vaes else None, label="Model", allow_custom_value=True,
                            elem_id="text-interp-model")
        steps = gr.Number(value=6, label=f"Steps (2–{MAX_STEPS})", precision=None, elem_id="text-interp-steps")
    with gr.Row():
        line_a = gr.Textbox(value="To be, or not to be, that is the question", label="Line A",
                            elem_id="text-interp-a")
        line_b = gr.Textbox(value="I will not stay to hear thee speak of love", label="Line B",
                            elem_id="text-interp-b")
    button = gr.Button("Interpolate", elem_id="text-interp-run")
    out = gr.Textbox(label="Path", lines=MAX_STEPS // 2, interactive=False, elem_id="text-interp-out")
    button.click(functools.partial(interpolate_lines, registry), [model, line_a, line_b, steps], [out],
                 api_name="interpolate_text", concurrency_limit=4)


def build_tab(registry: ModelRegistry) -> None:
    ids = registry.ids("text")
    if not ids:
        gr.Markdown("No text models are registered. Train one with "
                    "`python scripts/train_transformer.py --modality text`.")
        return
    with gr.Row():
        text_panel(registry, "left", ids[0])
        text_panel(registry, "right", ids[1] if len(ids) > 1 else ids[0])
    with gr.Accordion("How to read the numbers", open=False, elem_id="help-text"):
        gr.Markdown(READING_GUIDE)
    interpolation_section(registry)


def build_compare(registry: ModelRegistry) -> None:
    ids = registry.ids("text")
    if not ids:
        return
    gr.Markdown("## Text models\nEvery text model on the same seed; the table is the recorded metrics "
                "(5,000 lines each against the held-out plays).")
    with gr.Row():
        seed = gr.Number(value=0, label="Seed", precision=None, elem_id="compare-text-seed")
        lines = gr.Number(value=6, label=f"Lines per model (1–{MAX_LINES})", precision=None,
                          elem_id="compare-text-lines")
        run_all = gr.Button("Generate all text", variant="primary", elem_id="compare-text-generate-all")
    with gr.Row():
        boxes = [gr.Textbox(label=model_id, lines=6, interactive=False, elem_id=f"compare-text-{model_id}")
                 for model_id in ids]
    table = text_table(registry)
    gr.Dataframe(table, label="Text metrics (one row per model)", interactive=False, elem_id="compare-text-table")
    gr.BarPlot(text_chart(table), x="metric", y="value", color="model", label="Diversity, novelty, real words",
               elem_id="compare-text-chart")
    with gr.Row():
        for model_id in ids:
            gr.LinePlot(compare.curves_frame(registry.get(model_id).curves), x="step", y="value", color="series",
                        label=f"{model_id}: training curves", elem_id=f"compare-text-curves-{model_id}")
    run_all.click(functools.partial(generate_all_text, registry), [seed, lines], boxes, api_name="generate_all_text",
                  concurrency_limit=2)

