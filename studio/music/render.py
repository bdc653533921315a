"""Music grids made audible and visible: synthesized audio, WAV bytes, a piano roll, a mel spectrogram.

Numpy (and Pillow for pictures) at import time; the DSP runs on torchaudio when it is installed and on
numpy otherwise (studio.music.dsp); soundfile and matplotlib are imported inside the functions that need
them (``warm_up`` imports everything ahead of the first request).
"""

from __future__ import annotations

import io
import threading

import numpy as np

from studio.memory import release_free_memory
from studio.music import dsp
from studio.music.codec import grid_to_notes
from studio.music.data import (
    FIRST_PITCH_TOKEN,
    HOLD,
    PITCH_HIGH,
    PITCH_LOW,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    VOICES,
    check_grid,
)

# --- audio --------------------------------------------------------------------------------------
SYNTH_RATE = 11025  # internal synthesis rate; fundamentals reach 880 Hz, partials stay under 5 kHz
LOWPASS_HZ = 4000.0
TAIL_SECONDS = 1.0  # release + reverb tail after the last step (the length is duration + this)
PEAK = 0.9
FILTER_HEADROOM = 0.5  # peak level fed to the low-pass, whose output is clamped to [-1, 1]
REVERB_SECONDS, REVERB_RT60, REVERB_WET, REVERB_SEED = 1.0, 0.9, 0.25, 1234
ATTACK, DECAY, SUSTAIN, RELEASE = 0.02, 0.15, 0.6, 0.12  # seconds, seconds, level, seconds
#: Relative amplitudes of harmonics 1, 2, 3, ... per voice: a different colour for each part.
PARTIALS = (
    (1.0, 0.30, 0.12, 0.04),  # soprano: flute-like, nearly pure
    (1.0, 0.05, 0.45, 0.04, 0.22, 0.02, 0.10),  # alto: clarinet-like, odd harmonics
    (1.0, 0.50, 0.33, 0.25, 0.20, 0.16),  # tenor: string-like, 1/n
    (1.0, 0.80, 0.55, 0.35, 0.22, 0.14, 0.08),  # bass: bright, so low notes stay audible
)
VOICE_GAIN = (0.9, 0.75, 0.75, 0.9)


def step_seconds(tempo_bpm: float) -> float:
    """Length of one 16th note at ``tempo_bpm`` quarter notes per minute."""
    if tempo_bpm <= 0:
        raise ValueError(f"tempo must be positive; got {tempo_bpm}")
    return 60.0 / tempo_bpm / STEPS_PER_QUARTER


def _envelope(sounding: int, rate: int) -> np.ndarray:
    """Attack, decay to sustain while the note sounds, then a release tail: float32 [sounding + release]."""
    n_release = int(RELEASE * rate)
    t = np.arange(sounding + n_release, dtype=np.float32) / rate  # (n,)
    held = np.minimum(t / ATTACK, 1.0) * (SUSTAIN + (1 - SUSTAIN) * np.exp(-np.maximum(t - ATTACK, 0) / DECAY))
    level_at_end = held[sounding - 1] if sounding else 0.0
    tail = level_at_end * np.exp(-(t[sounding:] - t[sounding]) * (5.0 / RELEASE))
    return np.concatenate([held[:sounding], tail]).astype(np.float32)


def _tone(pitch: int, voice: int, sounding: int, rate: int) -> np.ndarray:
    """One note: the voice's harmonic recipe under the envelope, partials above 0.45 rate dropped."""
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    env = _envelope(sounding, rate)
    t = np.arange(len(env), dtype=np.float32) / rate
    wave = np.zeros(len(env), dtype=np.float32)
    for k, amp in enumerate(PARTIALS[voice], start=1):
        if k * f0 < 0.45 * rate:
            wave += np.float32(amp) * np.sin(np.float32(2 * np.pi * k * f0) * t)
    return VOICE_GAIN[voice] * wave * env


def synthesize(grid: np.ndarray, tempo_bpm: float, rate: int = SYNTH_RATE) -> np.ndarray:
    """Additive synthesis of every note, dry, float32 [duration + TAIL_SECONDS at ``rate``]."""
    grid = check_grid(grid)
    spb = step_seconds(tempo_bpm) * rate  # samples per step
    out = np.zeros(round((len(grid) * step_seconds(tempo_bpm) + TAIL_SECONDS) * rate), dtype=np.float32)
    for note in grid_to_notes(grid):
        start = round(note.start * spb)
        sounding = max(round((note.start + note.length) * spb) - start, 1)
        tone = _tone(note.pitch, note.voice, sounding, rate)[: len(out) - start]
        out[start : start + len(tone)] += tone
    return out


def reverb_impulse(rate: int, seconds: float = REVERB_SECONDS, rt60: float = REVERB_RT60,
                   seed: int = REVERB_SEED) -> np.ndarray:
    """A synthetic room: seeded white noise under an exponential decay (-60 dB after ``rt60``)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    ir = rng.standard_normal(len(t)) * np.exp(-6.9078 * t / rt60)  # ln(1000) = 6.9078
    return (ir / np.sqrt((ir**2).sum())).astype(np.float32)


def render_audio(grid: np.ndarray, tempo_bpm: float = 100.0, sample_rate: int = 22050) -> np.ndarray:
    """Hear a grid: float32 mono [round((T * step + TAIL_SECONDS) * sample_rate)], peak ~0.9.

    Additive synthesis at SYNTH_RATE (cheap), then DSP (studio.music.dsp): a low-pass biquad to soften
    the partials, a short reverb by FFT convolution with a seeded noise impulse response, and
    resampling to ``sample_rate``. A grid with no notes gives exact silence.
    """
    dry = synthesize(grid, tempo_bpm, SYNTH_RATE)  # (n,), four voices add up to peaks of ~5
    dry_peak = float(np.abs(dry).max()) if len(dry) else 0.0
    if dry_peak > 0:  # the biquad clamps its output to [-1, 1] (as torchaudio's does): leave it headroom
        dry *= np.float32(FILTER_HEADROOM / dry_peak)
    soft = dsp.lowpass(dry, SYNTH_RATE, LOWPASS_HZ)
    wet = dsp.convolve(soft, reverb_impulse(SYNTH_RATE))[: len(soft)]
    mixed = (1 - REVERB_WET) * soft + REVERB_WET * wet
    out = dsp.resample(mixed, SYNTH_RATE, sample_rate)
    target = round(len(dry) / SYNTH_RATE * sample_rate)
    audio = out.astype(np.float32)[:target]
    audio = np.pad(audio, (0, target - len(audio)))
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    return audio * np.float32(PEAK / peak) if peak > 1e-6 else np.zeros_like(audio)


def to_wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM WAV of mono float audio in [-1, 1] (values beyond are clipped)."""
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0), sample_rate,
                    format="WAV", subtype="PCM_16")
    return buf.getvalue()


# --- pictures -----------------------------------------------------------------------------------
VOICE_COLOURS = ((214, 39, 40), (44, 160, 44), (31, 119, 180), (148, 103, 189))  # S red, A green, T blue, B purple
_BLACK_KEYS = {1, 3, 6, 8, 10}


def piano_roll_image(grid: np.ndarray, width: int = 800, row_px: int = 5, given_steps: int = 0) -> np.ndarray:
    """uint8 RGB [H, W, 3]: time left to right, pitch bottom to top, a colour per voice.

    Black-key rows are shaded, every C is labelled, beats and bars are ruled and bars numbered,
    and each note starts with a dark edge so repeated notes stay distinguishable. With ``given_steps``,
    the first steps (an opening the model was given) are tinted and a thick line marks where the
    model's own music begins.
    """
    from PIL import Image, ImageDraw

    grid = check_grid(grid)
    left, top = 30, 14
    steps = max(len(grid), 1)
    step_px = max(2, (width - left - 4) // steps)
    rows = PITCH_HIGH - PITCH_LOW + 1
    img = Image.new("RGB", (left + steps * step_px + 4, top + rows * row_px + 4), (255, 255, 255))
    draw = ImageDraw.Draw(img)

    def y_of(pitch: int) -> int:
        return top + (PITCH_HIGH - pitch) * row_px

    if given_steps:  # the given opening: a warm tint under everything else
        draw.rectangle([left, top, left + given_steps * step_px, top + rows * row_px], fill=(255, 246, 222))
    for pitch in range(PITCH_LOW, PITCH_HIGH + 1):
        if pitch % 12 in _BLACK_KEYS:
            draw.rectangle([left, y_of(pitch), left + steps * step_px, y_of(pitch) + row_px - 1], fill=(242, 242, 242))
        if pitch % 12 == 0:
            y = y_of(pitch) + row_px - 1
            draw.line([left, y, left + steps * step_px, y], fill=(205, 205, 205))
            draw.text((2, y_of(pitch) - 4), f"C{pitch // 12 - 1}", fill=(90, 90, 90))
    for step in range(0, steps + 1, STEPS_PER_QUARTER):
        bar = step % STEPS_PER_BAR == 0
        x = left + step * step_px
        draw.line([x, top, x, top + rows * row_px], fill=(120, 120, 120) if bar else (225, 225, 225))
        if bar and step < steps:
            draw.text((x + 2, 1), str(step // STEPS_PER_BAR + 1), fill=(90, 90, 90))
    for note in grid_to_notes(grid):
        x0, x1 = left + note.start * step_px, left + (note.start + note.length) * step_px - 2
        y0 = y_of(note.pitch)
        colour = VOICE_COLOURS[note.voice]
        draw.rectangle([x0, y0, max(x1, x0), y0 + row_px - 1], fill=colour)
        draw.line([x0, y0, x0, y0 + row_px - 1], fill=tuple(c // 2 for c in colour))
    if given_steps:
        x = left + given_steps * step_px
        draw.rectangle([x - 1, top, x + 1, top + rows * row_px], fill=(0, 0, 0))
        draw.text((left + 2, top + rows * row_px - 12), "given", fill=(90, 60, 0))
        draw.text((x + 4, top + rows * row_px - 12), "model ->", fill=(0, 0, 0))
    for v, (name, colour) in enumerate(zip(VOICES, VOICE_COLOURS)):
        draw.text((img.width - 4 - 12 * (len(VOICES) - v), 1), name[0].upper(), fill=colour)
    return np.asarray(img, dtype=np.uint8)


def mel_spectrogram_image(audio: np.ndarray, sample_rate: int, width: int = 800, height: int = 240,
                          n_mels: int = 80, top_db: float = 80.0, f_max: float = 6000.0) -> np.ndarray:
    """uint8 RGB [height, width, 3]: a log-mel spectrogram (dB, magma colours), low notes at the bottom.

    ``f_max`` defaults to 6 kHz because render_audio's content ends near 5.5 kHz (SYNTH_RATE / 2).
    """
    import matplotlib
    from PIL import Image

    mel = dsp.mel_power(np.asarray(audio, dtype=np.float32), sample_rate, n_fft=1024, hop=256, n_mels=n_mels,
                        f_max=min(f_max, sample_rate / 2))  # (n_mels, frames)
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    level = np.clip((db - db.max() + top_db) / top_db, 0.0, 1.0)[::-1]  # (n_mels, frames), 1 = loudest
    rgb = (matplotlib.colormaps["magma"](level)[..., :3] * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.BILINEAR), dtype=np.uint8)


_warm_lock = threading.Lock()
_warmed = False


def warm_up(sample_rate: int = 22050) -> None:
    """Import the DSP backend, soundfile and matplotlib and render one bar through every path, once.

    The first render in a process pays several seconds of imports and first-call set-up; the app runs
    this in a background thread at start-up. Thread-safe: a render that arrives mid-warm-up waits for it.
    """
    global _warmed
    with _warm_lock:
        if _warmed:
            return
        chord = np.array([72, 67, 64, 48]) - PITCH_LOW + FIRST_PITCH_TOKEN  # C5 G4 E4 C3: S, A, T, B
        bar = np.full((STEPS_PER_BAR, len(VOICES)), HOLD, dtype=np.int64)
        bar[0] = chord
        audio = render_audio(bar, sample_rate=sample_rate)
        to_wav_bytes(audio, sample_rate)
        mel_spectrogram_image(audio, sample_rate)
        piano_roll_image(bar)
        release_free_memory()  # what the imports and first calls freed again
        _warmed = True
