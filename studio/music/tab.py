"""The Music tab and the music part of the Compare tab: handlers (plain functions) and layout.

Music is drawn through the same ONNX generators as everything else (studio.music.sampling), then
heard and seen: a WAV (additive synthesis, studio.music.render), a piano roll, a mel spectrogram,
and MIDI/WAV files to download. Rendering uses torchaudio; the tab's first screen, drawn in the background
as soon as the app serves, warms it up (imports it and renders), so the first click does not pay for it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from studio.music import MODALITY
from studio.music.codec import to_midi_bytes
from studio.music.data import REST, STEPS_PER_BAR
from studio.music.render import mel_spectrogram_image, piano_roll_image, render_audio, to_wav_bytes, warm_up
from studio.music.sampling import draw_piece, fragment_bars
from studio.onnx.runtime import slerp_noise
from studio.registry import manifest
from studio.registry.serving import ModelRegistry, ServedModel
from studio.ui.controls import (
    LooseDropdown,
    LooseSlider,
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
from studio.ui.results import bytes_path, png_path, remembered, safe_name

MAX_BARS = 8
MIN_TEMPO, MAX_TEMPO = 40, 200
MAX_TEMPERATURE = 2.0
MAX_OPENING_BARS = 3  # the Transformer reads 4 bars at once: an opening leaves it at least one to write
MAX_STEPS = 6  # interpolation points (each a 4-bar fragment)
SAMPLE_RATE = 22050
NO_OPENING = ""
SEEDS, FRAGMENTS = "two seeds (noise)", "two held-out fragments (encoder)"

SCHEMA = MODALITY.schema
CHART_METRICS = ("fd", "pitch_class_kl", "consonance_on_beats", "voice_crossing", "novelty", "distinct_fragments")
RESCORE_SAMPLES = 250
INTRO = ("**Bach chorales**: four-part hymns (soprano, alto, tenor, bass) on a grid of 16th notes, heard through "
         "a simple synthesizer. Pick two models and press **Generate**; the Transformer can continue the opening "
         "of a chorale it never saw. The piano roll shows each voice in its own colour.")
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
  VAE's a bound (negative ELBO), the flow's exact (each token dequantized on a unit cell, which costs nothing).
  A GAN has none.
- One-shot models (GAN, VAE, flow) write independent 4-bar fragments: longer pieces join several, and the
  joins are not composed. The Transformer writes bar by bar and can continue the opening of a held-out chorale.
"""


def music_ids(registry: ModelRegistry) -> list[str]:
    return registry.ids("music")


def describe_music(registry: ModelRegistry, model_id: object) -> str:
    """A music model's recorded metrics beside the held-out chorales', as markdown, with its collapse verdict."""
    how = "bar by bar (can continue an opening)" if is_autoregressive(registry, model_id) else \
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
@dataclass(frozen=True)
class Rendered:
    wav: str  # path of a 16-bit WAV, starting at the first note
    midi: str  # path of a standard MIDI file
    roll: str  # path of the piano roll PNG
    mel: str | None  # path of the mel spectrogram PNG


def first_onset(piece: np.ndarray) -> int:
    """The first step where any voice sounds (0 for an empty piece): playback starts there, not in the rests
    of a pickup bar."""
    sounding = np.flatnonzero((piece != REST).any(axis=1))
    return int(sounding[0]) if len(sounding) else 0


def piece_audio(piece: np.ndarray, tempo: float) -> np.ndarray:
    """A grid [T, 4] as audio at SAMPLE_RATE, from its first note."""
    warm_up(SAMPLE_RATE)  # at once after the start-up warm-up; a request during it waits for it
    return render_audio(piece[first_onset(piece):], tempo_bpm=tempo, sample_rate=SAMPLE_RATE)


def render_piece(piece: np.ndarray, tempo: float, stem: str, with_mel: bool = True, given_steps: int = 0) -> Rendered:
    """Audio (from the first note), MIDI and pictures of a grid [T, 4], as files written once, atomically."""
    audio = piece_audio(piece, tempo)
    wav = bytes_path(to_wav_bytes(audio, SAMPLE_RATE), f"{stem}.wav")
    midi = bytes_path(to_midi_bytes(piece, tempo_bpm=tempo), f"{stem}.mid")
    mel = png_path(mel_spectrogram_image(audio, SAMPLE_RATE), f"{stem}-mel") if with_mel else None
    roll = piano_roll_image(piece, width=max(800, 4 * len(piece) + 40), given_steps=given_steps)  # >= 4 px a step
    return Rendered(wav, midi, png_path(roll, f"{stem}-roll"), mel)


def music_generator(registry: ModelRegistry, model_id: object):  # noqa: ANN201 - a served generator
    generator = generator_for(registry, model_id)
    if generator.info.modality != "music":
        raise gr.Error(f"'{model_id}' is not a music model. Pick one of: {', '.join(music_ids(registry))}.")
    return generator


def _stem(model_id: object, seed: int) -> str:
    return f"{safe_name(str(model_id))}-seed{seed}"


@remembered
def music_result(registry: ModelRegistry, model_id: str, seed: int, temp: float, bars: int, tempo: float,
                 opening: str, opening_bars: int) -> tuple[Rendered, str]:
    """(files, note) for checked arguments; deterministic, so finished files are served again from here."""
    generator = music_generator(registry, model_id)
    model = registry.get(model_id)
    notes, start, given = [], None, 0
    if opening != NO_OPENING and generator.autoregressive:  # a token-by-token model continues what it is given
        k = parse_whole_number(opening_bars, "Opening bars", 1, min(MAX_OPENING_BARS, fragment_bars(generator) - 1))
        start = pick_opening(registry, model, opening, k)
        given = k * STEPS_PER_BAR
        notes.append(f"bars 1–{k} are Bach's ({opening}, held out from training; tinted on the piano roll), "
                     f"bars {k + 1}–{k + bars} are the model's")
    elif opening != NO_OPENING:
        notes.append("the opening applies to the Transformer only; one-shot models write from their noise")
    piece = draw_piece(generator, bars, seed, temp, opening=start)
    if generator.z_dim is not None and bars > fragment_bars(generator):
        notes.append(f"this model writes independent {fragment_bars(generator)}-bar fragments; a "
                     f"{bars}-bar piece joins several, and the joins are not composed")
    onset = first_onset(piece)
    if onset:
        notes.append(f"playback starts at the first note ({onset / STEPS_PER_BAR * 4:g} beats of rest skipped)")
    return render_piece(piece, tempo, _stem(model_id, seed), given_steps=given), \
        (f"*Note: {'; '.join(notes)}.*" if notes else "")


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
    k = parse_whole_number(opening_bars, "Opening bars", 1, MAX_OPENING_BARS)
    piece_id = NO_OPENING if opening in (None, NO_OPENING) else str(opening)
    out, note = music_result(registry, str(model_id), seed_n, temp, bars_n, tempo_v, piece_id, k)
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
    return encoded_line(registry, model.id, grids, steps, generator.z_dim), f"{pieces[0]} → {pieces[1]}"


def interpolate_music(registry: ModelRegistry, model_id: object, mode: object, seed_a: object, seed_b: object,
                      piece_a: object, piece_b: object, steps: object, tempo: object):  # noqa: ANN201
    """(audio, piano roll, MIDI file, note): the fragments decoded along a latent path, one after another."""
    n = parse_whole_number(steps, "Steps", 2, MAX_STEPS)
    tempo_v = parse_number(tempo, "Tempo (bpm)", MIN_TEMPO, MAX_TEMPO)
    seeds = (parse_whole_number(seed_a, "Seed A", 0, MAX_SEED), parse_whole_number(seed_b, "Seed B", 0, MAX_SEED))
    generator = music_generator(registry, model_id)
    if generator.autoregressive:
        raise gr.Error(f"'{model_id}' writes token by token and has no latent space to walk through. Pick a latent "
                       "model (GAN, VAE or flow).")
    z, ends = latent_path(registry, registry.get(str(model_id)), generator, mode, seeds, (piece_a, piece_b), n)
    fragments = generator.run(z)  # (steps, 64, 4)
    out = render_piece(fragments.reshape(-1, fragments.shape[2]), tempo_v,
                       f"{_stem(model_id, seeds[0])}-path-{seeds[1]}-{n}", with_mel=False)
    bars = fragment_bars(generator)
    return out.wav, out.roll, out.midi, (f"*{n} fragments of {bars} bars along {ends}: bars 1–{bars} are the "
                                         f"first end, the last {bars} bars the other.*")


# -- compare ------------------------------------------------------------------------------------------
def generate_all_music(registry: ModelRegistry, seed: object, bars: object, tempo: object) -> list[object]:
    """Every music model's piece for one seed: a piano roll and a WAV each (None for an unavailable model)."""
    seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
    bars_n = parse_whole_number(bars, "Bars", 1, MAX_BARS)
    tempo_v = parse_number(tempo, "Tempo (bpm)", MIN_TEMPO, MAX_TEMPO)
    outputs: list[object] = []
    for model_id in music_ids(registry):
        if not registry.get(model_id).available:
            outputs += [None, None]
            continue
        out, _ = music_result(registry, model_id, seed_n, 1.0, bars_n, tempo_v, NO_OPENING, 1)
        outputs += [out.roll, out.wav]
    return outputs


# -- layout ---------------------------------------------------------------------------------------------

def music_panel(registry: ModelRegistry, side: str, default: str, pieces: list[str]) -> dict:
    autoregressive = is_autoregressive(registry, default) and bool(pieces)
    with gr.Column(elem_id=f"music-panel-{side}", min_width=300):
        model = model_dropdown(model_choices(registry, "music", variants=True), default, f"music-model-{side}")
        with gr.Row(equal_height=True):
            seed = seed_box(0, "Seed", f"music-seed-{side}")
            temperature = LooseSlider(0.0, MAX_TEMPERATURE, value=1.0, step=0.05, label="Temperature",
                                    elem_id=f"music-temperature-{side}", scale=3)
        with gr.Row():
            bars = LooseSlider(1, MAX_BARS, value=4, step=1, label="Bars to write", elem_id=f"music-bars-{side}")
            tempo = LooseSlider(MIN_TEMPO, MAX_TEMPO, value=100, step=1, label="Tempo, beats per minute",
                              elem_id=f"music-tempo-{side}")
        with gr.Row():
            opening = LooseDropdown([("none: start from scratch", NO_OPENING)] + [(p, p) for p in pieces],
                                  value=pieces[0] if autoregressive else NO_OPENING, allow_custom_value=False,
                                  visible=autoregressive, label="Continue a held-out chorale",
                                  elem_id=f"music-opening-{side}")
            opening_bars = LooseSlider(1, MAX_OPENING_BARS, value=2, step=1, label="Bars of Bach given",
                                     visible=autoregressive, elem_id=f"music-opening-bars-{side}")
        button = gr.Button("Generate", variant="primary", elem_id=f"music-generate-{side}")
        status = status_line(f"music-status-{side}")
        audio = gr.Audio(None, label="Listen", type="filepath", interactive=False,
                         elem_id=f"music-audio-{side}")
        roll = gr.Image(None, label="Piano roll (S red, A green, T blue, B purple)", type="filepath",
                        interactive=False, elem_id=f"music-roll-{side}",
                        alt_text=f"Piano roll of 4 bars from {default}, seed 0")
        mel = gr.Image(None, label="Mel spectrogram", type="filepath", interactive=False,
                       elem_id=f"music-mel-{side}", alt_text=f"Mel spectrogram of 4 bars from {default}, seed 0")
        with gr.Row():
            midi = gr.File(None, label="MIDI", interactive=False, elem_id=f"music-midi-{side}")
            wav = gr.File(None, label="WAV", interactive=False, elem_id=f"music-wav-{side}")
        note = gr.Markdown("", elem_id=f"music-note-{side}")
        info = gr.Markdown("", elem_id=f"music-info-{side}", elem_classes=["metrics"])

    def first() -> tuple:
        if not registry.get(default).available:
            return (None,) * 5 + ("", describe_music(registry, default))
        return generate_music(registry, default, 0, 1.0, 4, 100, pieces[0] if autoregressive else NO_OPENING, 2)

    show_on_open([audio, roll, mel, midi, wav, note, info], first, f"music {side}")
    button.click(functools.partial(generate_music, registry),
                 [model, seed, temperature, bars, tempo, opening, opening_bars],
                 [audio, roll, mel, midi, wav, note, info], api_name=f"generate_music_{side}", concurrency_limit=4,
                 **keep_results(status)).success(
        lambda m, s, b: (gr.update(alt_text=f"Piano roll of {b} bars from {m}, seed {s}"),
                         gr.update(alt_text=f"Mel spectrogram of {b} bars from {m}, seed {s}")),
        [model, seed, bars], [roll, mel], api_visibility="private", show_progress="hidden")
    model.change(functools.partial(describe_music, registry), [model], [info], api_name=f"describe_music_{side}",
                 concurrency_limit=4, **keep_results(status))
    model.change(lambda m: (gr.update(visible=is_autoregressive(registry, m) and bool(pieces)),) * 2, [model],
                 [opening, opening_bars], api_visibility="private", show_progress="hidden")
    return {"model": model, "opening": opening}


def interpolation_section(registry: ModelRegistry, pieces: list[str]) -> None:
    latent = model_choices(registry, "music", latent_only=True)
    if not latent:
        return
    with_encoder = [v for _, v in latent if "encoder" in registry.get(v).entry]
    gr.Markdown("### Interpolate\nWalk a latent model from one seed's noise to another's, or (with the VAE's "
                "encoder) from one held-out fragment to another, and hear the fragments on the way one after "
                "another: gradual change means a meaningful latent space.")
    default = (with_encoder or [latent[0][1]])[0]
    with gr.Row(equal_height=True):
        model = model_dropdown(latent, default, "music-interp-model")
        mode = gr.Radio([SEEDS, FRAGMENTS], value=FRAGMENTS if with_encoder and pieces else SEEDS, label="Between",
                        elem_id="music-interp-mode")
        steps = LooseSlider(2, MAX_STEPS, value=4, step=1, label="Steps", elem_id="music-interp-steps")
        tempo = LooseSlider(MIN_TEMPO, MAX_TEMPO, value=100, step=1, label="Tempo, bpm", elem_id="music-interp-tempo")
    with gr.Row(equal_height=True):
        seed_a = seed_box(1, "Seed A", "music-interp-seed-a")
        seed_b = seed_box(2, "Seed B", "music-interp-seed-b")
        piece_a = LooseDropdown(pieces, value=pieces[0] if pieces else None, label="Fragment A (held out)",
                              allow_custom_value=False, elem_id="music-interp-piece-a")
        piece_b = LooseDropdown(pieces, value=pieces[-1] if pieces else None, label="Fragment B (held out)",
                              allow_custom_value=False, elem_id="music-interp-piece-b")
    button = gr.Button("Interpolate", elem_id="music-interp-run")
    status = status_line("music-interp-status")
    audio = gr.Audio(None, label="The path, fragment after fragment", type="filepath", interactive=False,
                     elem_id="music-interp-audio")
    roll = gr.Image(None, label="Piano roll of the path", type="filepath", interactive=False,
                    elem_id="music-interp-roll", alt_text="Piano roll of the interpolation path")
    midi = gr.File(None, label="MIDI", interactive=False, elem_id="music-interp-midi")
    note = gr.Markdown("", elem_id="music-interp-note")
    if registry.get(default).available:
        show_on_open([audio, roll, midi, note], lambda: interpolate_music(
            registry, default, FRAGMENTS if with_encoder and pieces else SEEDS, 1, 2, pieces[0] if pieces else None,
            pieces[-1] if pieces else None, 4, 100), "music interpolation")
    button.click(functools.partial(interpolate_music, registry),
                 [model, mode, seed_a, seed_b, piece_a, piece_b, steps, tempo], [audio, roll, midi, note],
                 api_name="interpolate_music", concurrency_limit=4, **keep_results(status))


def build_tab(registry: ModelRegistry) -> None:
    # Once the page is served, not on the first click: the first screen's parts import the DSP, render audio
    # and run every music generator once (when ONNX Runtime sets its buffers up).
    ids = music_ids(registry)
    if not ids:
        gr.Markdown("No music models are registered. Train one with "
                    "`python scripts/train_transformer.py --modality music` (likewise `train_vae.py`, "
                    "`train_gan.py`, `train_flow.py`).")
        return
    gr.Markdown(INTRO, elem_classes=["tab-intro"])
    pieces = all_openings(registry)
    autoregressive = [m for m in ids if is_autoregressive(registry, m)]
    left = (autoregressive or ids)[0]
    right = next((m for m in ids if m != left), left)
    with gr.Row():
        left_panel = music_panel(registry, "left", left, pieces)
        music_panel(registry, "right", right, pieces)
    if autoregressive and pieces:
        gr.Examples([[left, p] for p in pieces[:4]], [left_panel["model"], left_panel["opening"]],
                    label="Held-out chorales for the Transformer to continue (click one, then Generate)",
                    example_labels=[f"continue {p}" for p in pieces[:4]], elem_id="examples-music")
    with gr.Accordion("How to read the numbers", open=False, elem_id="help-music"):
        gr.Markdown(READING_GUIDE)
    interpolation_section(registry, pieces)


def build_compare(registry: ModelRegistry) -> None:
    ids = music_ids(registry)
    if not ids:
        return
    gr.Markdown("## Music models\nEvery music model on the same seed; the table is the recorded metrics "
                "(2,000 fragments each against the held-out chorales), with what the chorales themselves score.")
    with gr.Row(equal_height=True):
        seed = seed_box(0, "Seed", "compare-music-seed")
        bars = LooseSlider(1, MAX_BARS, value=4, step=1, label="Bars", elem_id="compare-music-bars")
        tempo = LooseSlider(MIN_TEMPO, MAX_TEMPO, value=100, step=1, label="Tempo, bpm",
                              elem_id="compare-music-tempo")
        run_all = gr.Button("Generate all music", variant="primary", elem_id="compare-music-generate-all")
    status = status_line("compare-music-status")
    outputs: list[gr.components.Component] = []
    with gr.Row():
        for model_id in ids:
            with gr.Column(min_width=220):
                label = model_id if registry.get(model_id).available else f"{model_id} (unavailable)"
                outputs.append(gr.Image(None, label=label, type="filepath", interactive=False,
                                        elem_id=f"compare-music-roll-{model_id}",
                                        alt_text=f"Piano roll of 4 bars from {model_id}, seed 0"))
                outputs.append(gr.Audio(None, label=f"{model_id}: listen", type="filepath",
                                        interactive=False, elem_id=f"compare-music-audio-{model_id}"))
    show_on_open(outputs, lambda: tuple(generate_all_music(registry, 0, 4, 100)), "music compare")
    metrics_section(registry, MODALITY, CHART_METRICS, "compare-music", RESCORE_SAMPLES, "rescore_music")
    curves_section(registry, ids, "compare-music")
    run_all.click(functools.partial(generate_all_music, registry), [seed, bars, tempo], outputs,
                  api_name="generate_all_music", concurrency_limit=2, **keep_results(status))
