"""The Music tab and the music part of the Compare tab: handlers (plain functions) and layout.

Music is drawn through the same ONNX generators as everything else (studio.music.sampling), then
heard and seen: a WAV (additive synthesis, studio.music.render), a piano roll, a mel spectrogram,
and MIDI/WAV files to download. Rendering uses torchaudio; building the tab warms it up (imports it
and renders one bar), so the app's start-up pays for that import and the first click does not.
"""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from studio import manifest
from studio.music import MODALITY
from studio.music.codec import to_midi_bytes
from studio.music.data import STEPS_PER_BAR
from studio.music.render import mel_spectrogram_image, piano_roll_image, render_audio, to_wav_bytes, warm_up
from studio.music.sampling import draw_piece, fragment_bars
from studio.runtime import GeneratorUnavailable, latent_line, slerp_noise
from studio.serving import ModelRegistry, ServedModel
from studio.ui import compare
from studio.ui.describe import describe, model_choices
from studio.ui.inputs import MAX_SEED, generator_for, parse_number, parse_whole_number

MAX_BARS = 8
MIN_TEMPO, MAX_TEMPO = 40, 200
MAX_TEMPERATURE = 2.0
MAX_OPENING_BARS = 3  # the Transformer reads 4 bars at once: an opening leaves it at least one to write
MAX_STEPS = 6  # interpolation points (each a 4-bar fragment)
SAMPLE_RATE = 22050
NO_OPENING = ""
SEEDS, FRAGMENTS = "two seeds (noise)", "two held-out fragments (encoder)"

SCHEMA = MODALITY.schema
CHART_METRICS = ("consonance_on_beats", "novelty", "distinct_fragments", "voice_crossing")
READING_GUIDE = """
Every model is scored on 2,000 generated 4-bar fragments (seed 2024) against the fragments of 29 held-out
chorales in all 12 transpositions the training data uses; the **held-out Bach** row is what the chorales
themselves score (the two distribution numbers compare one half of the held-out pieces with the other).
- **Fréchet distance** compares 50 hand-made music features (pitch classes, ranges, melodic intervals, intervals
  above the bass, rhythm, rests) of samples and held-out fragments; **pitch KL** the key-relative pitch classes.
- **Rules** of four-part writing: consonant verticals on beats, notes inside each voice's textbook range,
  voices not crossing, few parallel fifths and octaves. Bach himself is not perfect on them: compare with his row.
- **Novelty** is the share of generated 2-bar windows found nowhere in the training chorales (a copier scores
  0); **distinct** the share of pairwise-different fragments. A model is flagged **collapsed** when most of its
  fragments are identical or it changes sonority less than once a bar.
- **bits/token** (one voice, one 16th step) exists only for likelihood models: the Transformer's is exact, the
  VAE's a bound (negative ELBO), the flow's exact for its dequantized model and a bound for the music. A GAN has none.
- One-shot models (GAN, VAE, flow) write independent 4-bar fragments: longer pieces join several, and the
  joins are not composed. The Transformer writes bar by bar and can continue the opening of a held-out chorale.
"""


def music_ids(registry: ModelRegistry) -> list[str]:
    return registry.ids("music")


def describe_music(registry: ModelRegistry, model_id: object) -> str:
    """A music model's recorded metrics beside the held-out chorales', as markdown, with its collapse verdict."""
    model = registry.models.get(str(model_id))
    how = "bar by bar (can continue an opening)" if model and model.entry.get("kind") == "autoregressive" else \
        "whole 4-bar fragments"
    return describe(registry, SCHEMA, model_id, how)


# -- held-out openings (shipped beside the Transformer and the VAE: the app needs no data set) -------------
@functools.lru_cache(maxsize=8)
def _read_openings(path: str, sha256: str) -> dict[str, np.ndarray]:  # sha256: a changed file is read again
    data = json.loads(Path(path).read_text())
    return {p["id"]: np.asarray(p["grid"], dtype=np.int64) for p in data["pieces"]}


def openings_of(model: ServedModel, registry: ModelRegistry) -> dict[str, np.ndarray]:
    """{piece id: grid [64, 4]} of the held-out openings shipped with ``model`` (empty when it has none)."""
    if "openings" not in model.entry:
        return {}
    try:
        return _read_openings(str(manifest.path_of(model.entry, "openings", registry.root)),
                              model.entry["openings"]["sha256"])
    except (OSError, ValueError, KeyError) as exc:
        raise gr.Error(f"The held-out openings of '{model.id}' could not be read ({exc}). Rebuild them with "
                       f"{model.rebuild_command}") from None


def all_openings(registry: ModelRegistry) -> list[str]:
    """Every held-out piece some music model ships an opening for (for the dropdowns)."""
    pieces: dict[str, None] = {}
    for model_id in music_ids(registry):
        model = registry.get(model_id)
        try:
            pieces.update(dict.fromkeys(openings_of(model, registry)))
        except gr.Error:
            continue  # a broken file shows up when that model is used
    return list(pieces)


def pick_opening(registry: ModelRegistry, model: ServedModel, piece: object, bars: int) -> np.ndarray:
    """The first ``bars`` bars of held-out ``piece``, from the model's own openings file."""
    openings = openings_of(model, registry)
    if str(piece) not in openings:
        known = ", ".join(list(openings)[:6]) or "none"
        raise gr.Error(f"'{piece}' is not one of the held-out chorales shipped with '{model.id}'. Pick one of: "
                       f"{known}{', ...' if len(openings) > 6 else ''}.")
    return openings[str(piece)][: bars * STEPS_PER_BAR]


# -- hearing and seeing a piece -------------------------------------------------------------------
@dataclass
class Rendered:
    wav: str  # path of a 16-bit WAV
    midi: str  # path of a standard MIDI file
    roll: np.ndarray  # uint8 [H, W, 3]
    mel: np.ndarray | None  # uint8 [H, W, 3]


def render_piece(piece: np.ndarray, tempo: float, stem: str, with_mel: bool = True) -> Rendered:
    """Audio, MIDI and pictures of a grid [T, 4], the files in a fresh temporary folder (one per request)."""
    warm_up(SAMPLE_RATE)  # at once after the start-up warm-up; a request during it waits for it
    folder = Path(tempfile.mkdtemp(prefix="studio-music-"))
    audio = render_audio(piece, tempo_bpm=tempo, sample_rate=SAMPLE_RATE)
    wav, midi = folder / f"{stem}.wav", folder / f"{stem}.mid"
    wav.write_bytes(to_wav_bytes(audio, SAMPLE_RATE))
    midi.write_bytes(to_midi_bytes(piece, tempo_bpm=tempo))
    mel = mel_spectrogram_image(audio, SAMPLE_RATE) if with_mel else None
    roll = piano_roll_image(piece, width=max(800, 4 * len(piece) + 40))  # at least 4 px per 16th step
    return Rendered(str(wav), str(midi), roll, mel)


def music_generator(registry: ModelRegistry, model_id: object):  # noqa: ANN201 - a served generator
    generator = generator_for(registry, model_id)
    if generator.info.modality != "music":
        raise gr.Error(f"'{model_id}' is not a music model. Pick one of: {', '.join(music_ids(registry))}.")
    return generator


def _stem(model_id: object, seed: int) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(model_id))
    return f"{safe}-seed{seed}"


def generate_music(registry: ModelRegistry, model_id: object, seed: object, temperature: object, bars: object,
                   tempo: object, opening: object, opening_bars: object):  # noqa: ANN201 - a tuple for gradio
    """(audio, piano roll, mel, MIDI file, WAV file, note, info) for ``bars`` new bars of ``model_id``.

    The Transformer continues the first ``opening_bars`` bars of held-out chorale ``opening`` when one is
    chosen; one-shot models write from noise (and say the opening does not apply to them).
    """
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    temp = parse_number(temperature, "Temperature", 0.0, MAX_TEMPERATURE)
    bars_n = parse_whole_number(bars, "Bars", 1, MAX_BARS)
    tempo_v = parse_number(tempo, "Tempo (bpm)", MIN_TEMPO, MAX_TEMPO)
    generator = music_generator(registry, model_id)
    model = registry.get(str(model_id))
    notes, start = [], None
    wants_opening = opening not in (None, NO_OPENING)
    if wants_opening and generator.z_dim is None:  # a token-by-token model continues what it is given
        k = parse_whole_number(opening_bars, "Opening bars", 1, min(MAX_OPENING_BARS, fragment_bars(generator) - 1))
        start = pick_opening(registry, model, opening, k)
        notes.append(f"bars 1–{k} are Bach's ({opening}, held out from training); bars {k + 1}–{k + bars_n} "
                     f"are the model's")
    elif wants_opening:
        notes.append("the opening applies to the Transformer only; one-shot models write from their noise")
    piece = draw_piece(generator, bars_n, seed_n, temp, opening=start)
    if generator.z_dim is not None and bars_n > fragment_bars(generator):
        notes.append(f"this model writes independent {fragment_bars(generator)}-bar fragments; a "
                     f"{bars_n}-bar piece joins several, and the joins are not composed")
    out = render_piece(piece, tempo_v, _stem(model_id, seed_n))
    note = f"*Note: {'; '.join(notes)}.*" if notes else ""
    return out.wav, out.roll, out.mel, out.midi, out.wav, note, describe_music(registry, model_id)


# -- interpolation ----------------------------------------------------------------------------------
def latent_path(registry: ModelRegistry, model: ServedModel, generator, mode: object,  # noqa: ANN001
                seeds: tuple[int, int], pieces: tuple[object, object], steps: int) -> tuple[np.ndarray, str]:
    """(z [steps, z_dim], what the ends are): great circle between two seeds' noise, or the straight line
    between the encoder's posterior means of two held-out fragments."""
    if mode == SEEDS:
        return slerp_noise(generator.z_dim, *seeds, steps), f"seed {seeds[0]} → seed {seeds[1]}"
    if mode != FRAGMENTS:
        raise gr.Error(f"Interpolate between '{SEEDS}' or '{FRAGMENTS}', not '{mode}'.")
    if "encoder" not in model.entry:
        vaes = [m for m in music_ids(registry) if "encoder" in registry.get(m).entry]
        raise gr.Error(f"'{model.id}' has no encoder, so it cannot place held-out fragments in its latent space. "
                       f"Pick {' or '.join(vaes) or 'a music VAE'}, or interpolate between two seeds.")
    grids = np.stack([pick_opening(registry, model, p, fragment_bars(generator)) for p in pieces])  # (2, 64, 4)
    try:
        encoder = registry.extra_session(model.id, "encoder")
    except GeneratorUnavailable as exc:
        raise gr.Error(str(exc)) from None
    z = encoder.run(["z"], {"sample": grids})[0]  # (2, latent) posterior means
    return latent_line(z[0], z[1], steps, generator.z_dim), f"{pieces[0]} → {pieces[1]}"


def interpolate_music(registry: ModelRegistry, model_id: object, mode: object, seed_a: object, seed_b: object,
                      piece_a: object, piece_b: object, steps: object, tempo: object):  # noqa: ANN201
    """(audio, piano roll, MIDI file, note): the fragments decoded along a latent path, one after another."""
    n = parse_whole_number(steps, "Steps", 2, MAX_STEPS)
    tempo_v = parse_number(tempo, "Tempo (bpm)", MIN_TEMPO, MAX_TEMPO)
    seeds = (parse_whole_number(seed_a, "Seed A", 0, MAX_SEED), parse_whole_number(seed_b, "Seed B", 0, MAX_SEED))
    generator = music_generator(registry, model_id)
    if generator.z_dim is None:
        raise gr.Error(f"'{model_id}' writes token by token and has no latent space to walk through. Pick a latent "
                       "model (GAN, VAE or flow).")
    z, ends = latent_path(registry, registry.get(str(model_id)), generator, mode, seeds, (piece_a, piece_b), n)
    fragments = generator.run(z)  # (steps, 64, 4)
    out = render_piece(fragments.reshape(-1, fragments.shape[2]), tempo_v, f"{_stem(model_id, seeds[0])}-path",
                       with_mel=False)
    bars = fragment_bars(generator)
    return out.wav, out.roll, out.midi, (f"*{n} fragments of {bars} bars along {ends}: bars 1–{bars} are the "
                                         f"first end, the last {bars} bars the other.*")


# -- compare ------------------------------------------------------------------------------------------
def music_table(registry: ModelRegistry) -> pd.DataFrame:
    return compare.metrics_table(registry, MODALITY)


def music_chart(table: pd.DataFrame) -> pd.DataFrame:
    return compare.share_frame(table, SCHEMA, CHART_METRICS)


def generate_all_music(registry: ModelRegistry, seed: object, bars: object, tempo: object) -> list[object]:
    """Every music model's piece for one seed: a piano roll and a WAV each (None for an unavailable model)."""
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    bars_n = parse_whole_number(bars, "Bars", 1, MAX_BARS)
    tempo_v = parse_number(tempo, "Tempo (bpm)", MIN_TEMPO, MAX_TEMPO)
    outputs: list[object] = []
    for model_id in music_ids(registry):
        model = registry.get(model_id)
        if not model.available:
            outputs += [None, None]
            continue
        out = render_piece(draw_piece(model.generator, bars_n, seed_n), tempo_v, _stem(model_id, seed_n),
                           with_mel=False)
        outputs += [out.roll, out.wav]
    return outputs


# -- layout ---------------------------------------------------------------------------------------------
def music_panel(registry: ModelRegistry, side: str, default: str, pieces: list[str]) -> None:
    default_model = registry.get(default)
    takes_opening = default_model.entry.get("kind") == "autoregressive" and pieces
    with gr.Column(elem_id=f"music-panel-{side}"):
        model = gr.Dropdown(model_choices(registry, "music"), value=default, label="Model", allow_custom_value=True,
                            elem_id=f"music-model-{side}")
        with gr.Row():
            seed = gr.Number(value=0, label="Seed", precision=None, elem_id=f"music-seed-{side}")
            temperature = gr.Number(value=1.0, label=f"Temperature (0–{MAX_TEMPERATURE:g})", precision=None,
                                    elem_id=f"music-temperature-{side}")
        with gr.Row():
            bars = gr.Number(value=4, label=f"Bars (1–{MAX_BARS})", precision=None, elem_id=f"music-bars-{side}")
            tempo = gr.Number(value=100, label=f"Tempo, bpm ({MIN_TEMPO}–{MAX_TEMPO})", precision=None,
                              elem_id=f"music-tempo-{side}")
        with gr.Row():
            opening = gr.Dropdown([("none: start from scratch", NO_OPENING)] + [(p, p) for p in pieces],
                                  value=pieces[0] if takes_opening else NO_OPENING, allow_custom_value=True,
                                  label="Continue a held-out chorale (Transformer only)",
                                  elem_id=f"music-opening-{side}")
            opening_bars = gr.Number(value=2, label=f"Opening bars (1–{MAX_OPENING_BARS})", precision=None,
                                     elem_id=f"music-opening-bars-{side}")
        button = gr.Button("Generate", variant="primary", elem_id=f"music-generate-{side}")
        audio = gr.Audio(label="Listen", type="filepath", interactive=False, elem_id=f"music-audio-{side}")
        roll = gr.Image(label="Piano roll (S red, A green, T blue, B purple)", type="numpy", format="png",
                        interactive=False, elem_id=f"music-roll-{side}")
        mel = gr.Image(label="Mel spectrogram", type="numpy", format="png", interactive=False,
                       elem_id=f"music-mel-{side}")
        with gr.Row():
            midi = gr.File(label="MIDI", interactive=False, elem_id=f"music-midi-{side}")
            wav = gr.File(label="WAV", interactive=False, elem_id=f"music-wav-{side}")
        note = gr.Markdown("", elem_id=f"music-note-{side}")
        info = gr.Markdown(describe_music(registry, default), elem_id=f"music-info-{side}")
    button.click(functools.partial(generate_music, registry),
                 [model, seed, temperature, bars, tempo, opening, opening_bars],
                 [audio, roll, mel, midi, wav, note, info], api_name=f"generate_music_{side}", concurrency_limit=4)
    model.change(functools.partial(describe_music, registry), [model], [info], api_name=f"describe_music_{side}",
                 concurrency_limit=4)


def interpolation_section(registry: ModelRegistry, pieces: list[str]) -> None:
    latent = model_choices(registry, "music", latent_only=True)
    if not latent:
        return
    with_encoder = [v for _, v in latent if "encoder" in registry.get(v).entry]
    gr.Markdown("### Interpolate\nWalk a latent model from one seed's noise to another's, or (with the VAE's "
                "encoder) from one held-out fragment to another, and hear the fragments on the way one after "
                "another: gradual change means a meaningful latent space.")
    with gr.Row():
        model = gr.Dropdown(latent, value=(with_encoder or [latent[0][1]])[0], label="Model", allow_custom_value=True,
                            elem_id="music-interp-model")
        mode = gr.Radio([SEEDS, FRAGMENTS], value=FRAGMENTS if with_encoder and pieces else SEEDS, label="Between",
                        elem_id="music-interp-mode")
        steps = gr.Number(value=4, label=f"Steps (2–{MAX_STEPS})", precision=None, elem_id="music-interp-steps")
        tempo = gr.Number(value=100, label=f"Tempo, bpm ({MIN_TEMPO}–{MAX_TEMPO})", precision=None,
                          elem_id="music-interp-tempo")
    with gr.Row():
        seed_a = gr.Number(value=1, label="Seed A", precision=None, elem_id="music-interp-seed-a")
        seed_b = gr.Number(value=2, label="Seed B", precision=None, elem_id="music-interp-seed-b")
        piece_a = gr.Dropdown(pieces, value=pieces[0] if pieces else None, label="Fragment A (held out)",
                              allow_custom_value=True, elem_id="music-interp-piece-a")
        piece_b = gr.Dropdown(pieces, value=pieces[-1] if pieces else None, label="Fragment B (held out)",
                              allow_custom_value=True, elem_id="music-interp-piece-b")
    button = gr.Button("Interpolate", elem_id="music-interp-run")
    audio = gr.Audio(label="The path, fragment after fragment", type="filepath", interactive=False,
                     elem_id="music-interp-audio")
    roll = gr.Image(label="Piano roll of the path", type="numpy", format="png", interactive=False,
                    elem_id="music-interp-roll")
    midi = gr.File(label="MIDI", interactive=False, elem_id="music-interp-midi")
    note = gr.Markdown("", elem_id="music-interp-note")
    button.click(functools.partial(interpolate_music, registry),
                 [model, mode, seed_a, seed_b, piece_a, piece_b, steps, tempo], [audio, roll, midi, note],
                 api_name="interpolate_music", concurrency_limit=4)


def build_tab(registry: ModelRegistry) -> None:
    # At start-up, not on the first click: import torchaudio, render one bar, and run every music
    # generator once (ONNX Runtime sets its buffers up on a session's first run).
    warm_up(SAMPLE_RATE)
    ids = music_ids(registry)
    for model_id in ids:
        if registry.get(model_id).available:
            draw_piece(registry.get(model_id).generator, 1, seed=0)
    if not ids:
        gr.Markdown("No music models are registered. Train one with "
                    "`python scripts/train_transformer.py --modality music` (likewise `train_vae.py`, "
                    "`train_gan.py`, `train_flow.py`).")
        return
    pieces = all_openings(registry)
    stepped = [m for m in ids if registry.get(m).entry.get("kind") == "autoregressive"]
    left = (stepped or ids)[0]
    right = next((m for m in ids if m != left), left)
    with gr.Row():
        music_panel(registry, "left", left, pieces)
        music_panel(registry, "right", right, pieces)
    with gr.Accordion("How to read the numbers", open=False, elem_id="help-music"):
        gr.Markdown(READING_GUIDE)
    interpolation_section(registry, pieces)


def build_compare(registry: ModelRegistry) -> None:
    ids = music_ids(registry)
    if not ids:
        return
    gr.Markdown("## Music models\nEvery music model on the same seed; the table is the recorded metrics "
                "(2,000 fragments each against the held-out chorales), with what the chorales themselves score.")
    with gr.Row():
        seed = gr.Number(value=0, label="Seed", precision=None, elem_id="compare-music-seed")
        bars = gr.Number(value=4, label=f"Bars (1–{MAX_BARS})", precision=None, elem_id="compare-music-bars")
        tempo = gr.Number(value=100, label=f"Tempo, bpm ({MIN_TEMPO}–{MAX_TEMPO})", precision=None,
                          elem_id="compare-music-tempo")
        run_all = gr.Button("Generate all music", variant="primary", elem_id="compare-music-generate-all")
    outputs: list[gr.components.Component] = []
    with gr.Row():
        for model_id in ids:
            with gr.Column():
                outputs.append(gr.Image(label=model_id, type="numpy", format="png", interactive=False,
                                        elem_id=f"compare-music-roll-{model_id}"))
                outputs.append(gr.Audio(label=f"{model_id}: listen", type="filepath", interactive=False,
                                        elem_id=f"compare-music-audio-{model_id}"))
    table = music_table(registry)
    gr.Dataframe(table, label="Music metrics (one row per model, and the held-out chorales)", interactive=False,
                 elem_id="compare-music-table")
    gr.BarPlot(music_chart(table), x="metric", y="value", color="model",
               label="Consonance, novelty, diversity, voice crossings", elem_id="compare-music-chart")
    with gr.Row():
        for model_id in ids:
            gr.LinePlot(compare.curves_frame(registry.get(model_id).curves), x="step", y="value", color="series",
                        label=f"{model_id}: training curves", elem_id=f"compare-music-curves-{model_id}")
    run_all.click(functools.partial(generate_all_music, registry), [seed, bars, tempo], outputs,
                  api_name="generate_all_music", concurrency_limit=2)
