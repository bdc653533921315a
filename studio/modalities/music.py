"""Music grids made audible and visible: notes, MIDI files, synthesized audio, pictures.

The web app imports this module without torch: numpy (and Pillow for pictures) at import
time; torch/torchaudio, soundfile and matplotlib are imported inside the functions that
need them. Grids are int [T, 4] token arrays as defined in ``studio.data.music``.
"""

from __future__ import annotations

import io
import struct
from typing import NamedTuple

import numpy as np

from studio.data.music import (
    FIRST_PITCH_TOKEN,
    HOLD,
    PITCH_HIGH,
    PITCH_LOW,
    REST,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    VOICES,
    check_grid,
)


class Note(NamedTuple):
    voice: int  # 0 soprano .. 3 bass
    start: int  # 16th-note step
    length: int  # in steps, >= 1
    pitch: int  # MIDI


# --- notes --------------------------------------------------------------------------------------
def grid_to_notes(grid: np.ndarray) -> list[Note]:
    """Every note of a grid, ordered by voice then start. Orphan holds (nothing to hold) are silence."""
    grid = check_grid(grid)
    notes = []
    for v in range(grid.shape[1]):
        col = grid[:, v]
        onsets = np.flatnonzero(col >= FIRST_PITCH_TOKEN)  # (K,)
        for start in onsets:
            end = start + 1
            while end < len(col) and col[end] == HOLD:
                end += 1
            notes.append(Note(v, int(start), int(end - start), int(col[start] - FIRST_PITCH_TOKEN + PITCH_LOW)))
    return notes


def notes_to_grid(notes: list[tuple[int, int, int, int]], steps: int | None = None) -> np.ndarray:
    """(voice, start, length, midi) notes -> int64 [steps, 4]; ``steps`` defaults to the last note's end.

    Raises ValueError for a pitch outside PITCH_LOW..PITCH_HIGH or two notes overlapping in one
    voice, instead of silently dropping or clipping them.
    """
    notes = [Note(*map(int, n)) for n in notes]
    end = max((n.start + n.length for n in notes), default=0)
    steps = end if steps is None else steps
    if end > steps:
        raise ValueError(f"notes run to step {end} but the grid has only {steps} steps")
    grid = np.full((steps, len(VOICES)), REST, dtype=np.int64)
    for n in notes:
        if not 0 <= n.voice < len(VOICES) or n.start < 0 or n.length < 1:
            raise ValueError(f"bad note {n}: voice 0..3, start >= 0, length >= 1")
        if not PITCH_LOW <= n.pitch <= PITCH_HIGH:
            raise ValueError(f"note {n} is outside the grid's pitch range {PITCH_LOW}..{PITCH_HIGH}")
        span = grid[n.start : n.start + n.length, n.voice]
        if (span != REST).any():
            raise ValueError(f"note {n} overlaps another note of voice {VOICES[n.voice]}")
        span[0] = FIRST_PITCH_TOKEN + n.pitch - PITCH_LOW
        span[1:] = HOLD
    return grid


# --- standard MIDI files (written and read by hand: no extra dependency) -------------------------
TICKS_PER_QUARTER = 480
TICKS_PER_STEP = TICKS_PER_QUARTER // STEPS_PER_QUARTER
MIDI_PROGRAM = 52  # General MIDI "Choir Aahs": the chorales are sung
MIDI_VELOCITY = 80


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _track(events: list[tuple[int, int, bytes]], end_tick: int) -> bytes:
    """MTrk chunk from (tick, order, message) events; order puts note-offs before note-ons."""
    body, now = bytearray(), 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        body += _vlq(tick - now) + msg
        now = tick
    body += _vlq(max(end_tick - now, 0)) + b"\xff\x2f\x00"  # end of track at the grid's end
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def _meta(kind: int, data: bytes) -> bytes:
    return bytes([0xFF, kind]) + _vlq(len(data)) + data


def to_midi_bytes(grid: np.ndarray, tempo_bpm: float = 100.0) -> bytes:
    """A format-1 standard MIDI file: a tempo track, then one track (and channel) per voice.

    The end-of-track events sit at the grid's last step, so trailing rests survive a round trip.
    """
    grid = check_grid(grid)
    end_tick = len(grid) * TICKS_PER_STEP
    usec_per_quarter = round(60_000_000 / tempo_bpm)
    conductor = [(0, 0, _meta(0x03, b"Generative Studio chorale")),
                 (0, 1, _meta(0x51, usec_per_quarter.to_bytes(3, "big"))),
                 (0, 2, _meta(0x58, bytes([4, 2, 24, 8])))]  # 4/4, 24 clocks per click, 8 32nds per quarter
    tracks = [_track(conductor, end_tick)]
    notes = grid_to_notes(grid)
    for v, name in enumerate(VOICES):
        events = [(0, 0, _meta(0x03, name.encode())), (0, 1, bytes([0xC0 | v, MIDI_PROGRAM]))]
        for n in (n for n in notes if n.voice == v):
            events.append((n.start * TICKS_PER_STEP, 3, bytes([0x90 | v, n.pitch, MIDI_VELOCITY])))
            events.append(((n.start + n.length) * TICKS_PER_STEP, 2, bytes([0x80 | v, n.pitch, 0])))
        tracks.append(_track(events, end_tick))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TICKS_PER_QUARTER)
    return header + b"".join(tracks)


def _chunks(data: bytes):
    pos = 0
    while pos + 8 <= len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        if pos + 8 + length > len(data):
            raise ValueError(f"truncated MIDI file: chunk {kind!r} needs {length} bytes")
        yield kind, data[pos + 8 : pos + 8 + length]
        pos += 8 + length


def _read_vlq(buf: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = buf[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos


def _track_notes(body: bytes) -> tuple[list[tuple[int, int, int, int]], int]:
    """(channel, pitch, on tick, off tick) per note of one MTrk, and the track's last tick."""
    pos, tick, status = 0, 0, 0
    open_notes: dict[tuple[int, int], list[int]] = {}
    notes = []
    while pos < len(body):
        delta, pos = _read_vlq(body, pos)
        tick += delta
        if body[pos] & 0x80:
            status = body[pos]
            pos += 1
        elif not status:
            raise ValueError("MIDI data byte without a status byte")
        if status == 0xFF:  # meta event: type, length, data
            length, pos = _read_vlq(body, pos + 1)
            pos += length
            status = 0  # meta/sysex cancel running status
        elif status in (0xF0, 0xF7):  # sysex
            length, pos = _read_vlq(body, pos)
            pos += length
            status = 0
        else:
            kind, channel = status & 0xF0, status & 0x0F
            size = 1 if kind in (0xC0, 0xD0) else 2
            data = body[pos : pos + size]
            pos += size
            if kind == 0x90 and data[1] > 0:
                open_notes.setdefault((channel, data[0]), []).append(tick)
            elif kind in (0x80, 0x90):  # note-off, or note-on with velocity 0
                starts = open_notes.get((channel, data[0]))
                if starts:
                    notes.append((channel, data[0], starts.pop(0), tick))
    return notes, tick


def _voices(fmt: int, tracks: list[list[tuple[int, int, int, int]]]) -> list[list[tuple[int, int, int, int]]]:
    """The four voices' notes: format 0 by channel; format 1 by track, skipping a note-less
    conductor track in front (silent voices keep their empty track)."""
    if fmt == 0 and len(tracks) == 1:
        channels = sorted({n[0] for n in tracks[0]})
        tracks = [[n for n in tracks[0] if n[0] == c] for c in channels]
    elif len(tracks) == len(VOICES) + 1 and not tracks[0]:
        tracks = tracks[1:]
    elif len(tracks) != len(VOICES):
        tracks = [t for t in tracks if t]
    if len(tracks) != len(VOICES):
        raise ValueError(f"expected 4 voices (tracks, or channels of a format-0 file), found {len(tracks)}")
    return tracks


def midi_bytes_to_grid(data: bytes) -> np.ndarray:
    """Read a standard MIDI file back into an int64 [T, 4] grid.

    Voices are the four tracks that hold notes, top to bottom in file order (format 1), or the
    four channels used (format 0). Times are rounded to the nearest 16th note; T runs to the
    last end-of-track, so a file written by ``to_midi_bytes`` comes back exactly.
    """
    if data[:4] != b"MThd":
        raise ValueError("not a standard MIDI file (no MThd header)")
    chunks = list(_chunks(data))
    fmt, _, division = struct.unpack(">HHH", chunks[0][1][:6])
    if division & 0x8000:
        raise ValueError("SMPTE-timed MIDI files are not supported; save with ticks per quarter note")
    try:
        tracks = [_track_notes(body) for kind, body in chunks[1:] if kind == b"MTrk"]
    except IndexError as err:
        raise ValueError("corrupt MIDI track: an event runs past the end of its chunk") from err
    last_tick = max((end for _, end in tracks), default=0)
    per_step = division / STEPS_PER_QUARTER
    notes = []
    for v, voice_notes in enumerate(_voices(fmt, [notes for notes, _ in tracks])):
        for _, pitch, on, off in voice_notes:
            start = round(on / per_step)
            notes.append(Note(v, start, max(round(off / per_step) - start, 1), pitch))
    last_step = max([round(last_tick / per_step)] + [n.start + n.length for n in notes])
    return notes_to_grid(notes, steps=last_step)


# --- audio --------------------------------------------------------------------------------------
SYNTH_RATE = 11025  # internal synthesis rate; fundamentals reach 880 Hz, partials stay under 5 kHz
LOWPASS_HZ = 4000.0
TAIL_SECONDS = 1.0  # release + reverb tail after the last step (the length is duration + this)
PEAK = 0.9
FILTER_HEADROOM = 0.5  # peak level fed to the low-pass, whose output torchaudio clamps to [-1, 1]
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

    Additive synthesis at SYNTH_RATE (cheap), then torchaudio DSP: a low-pass biquad to soften
    the partials, a short reverb by FFT convolution with a seeded noise impulse response, and
    resampling to ``sample_rate``. A grid with no notes gives exact silence.
    """
    import torch
    import torchaudio.functional as AF

    dry = synthesize(grid, tempo_bpm, SYNTH_RATE)  # (n,), four voices add up to peaks of ~5
    dry_peak = float(np.abs(dry).max()) if len(dry) else 0.0
    if dry_peak > 0:  # torchaudio's biquad clamps its output to [-1, 1]: leave it headroom
        dry *= np.float32(FILTER_HEADROOM / dry_peak)
    dry = torch.from_numpy(dry)
    soft = AF.lowpass_biquad(dry, SYNTH_RATE, LOWPASS_HZ)
    wet = AF.fftconvolve(soft, torch.from_numpy(reverb_impulse(SYNTH_RATE)))[: len(soft)]
    mixed = (1 - REVERB_WET) * soft + REVERB_WET * wet
    out = AF.resample(mixed, SYNTH_RATE, sample_rate) if sample_rate != SYNTH_RATE else mixed
    target = round(len(dry) / SYNTH_RATE * sample_rate)
    audio = out.numpy().astype(np.float32)[:target]
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


def piano_roll_image(grid: np.ndarray, width: int = 800, row_px: int = 5) -> np.ndarray:
    """uint8 RGB [H, W, 3]: time left to right, pitch bottom to top, a colour per voice.

    Black-key rows are shaded, every C is labelled, beats and bars are ruled and bars numbered,
    and each note starts with a dark edge so repeated notes stay distinguishable.
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
    for v, (name, colour) in enumerate(zip(VOICES, VOICE_COLOURS)):
        draw.text((img.width - 4 - 12 * (len(VOICES) - v), 1), name[0].upper(), fill=colour)
    return np.asarray(img, dtype=np.uint8)


def mel_spectrogram_image(audio: np.ndarray, sample_rate: int, width: int = 800, height: int = 240,
                          n_mels: int = 80, top_db: float = 80.0, f_max: float = 6000.0) -> np.ndarray:
    """uint8 RGB [height, width, 3]: a log-mel spectrogram (dB, magma colours), low notes at the bottom.

    ``f_max`` defaults to 6 kHz because render_audio's content ends near 5.5 kHz (SYNTH_RATE / 2).
    """
    import matplotlib
    import torch
    import torchaudio.transforms as T
    from PIL import Image

    wave = torch.from_numpy(np.asarray(audio, dtype=np.float32))  # (n,)
    mel = T.MelSpectrogram(sample_rate=sample_rate, n_fft=1024, hop_length=256, n_mels=n_mels,
                           f_max=min(f_max, sample_rate / 2))(wave)  # (n_mels, frames)
    db = T.AmplitudeToDB(stype="power", top_db=top_db)(mel).numpy()
    level = np.clip((db - db.max() + top_db) / top_db, 0.0, 1.0)[::-1]  # (n_mels, frames), 1 = loudest
    rgb = (matplotlib.colormaps["magma"](level)[..., :3] * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.BILINEAR), dtype=np.uint8)
