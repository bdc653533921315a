"""Grids made audible and visible: notes, MIDI round trips, synthesized audio, WAV, pictures."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from studio.music import codec, render
from studio.music.data import (
    FIRST_PITCH_TOKEN,
    HOLD,
    PITCH_HIGH,
    PITCH_LOW,
    REST,
    STEPS_PER_BAR,
)

ROOT = Path(__file__).resolve().parents[2]


def tok(midi: int) -> int:
    return FIRST_PITCH_TOKEN + midi - PITCH_LOW


def random_grid(seed: int, steps: int = 64) -> np.ndarray:
    """Random notes and rests in every voice, with repeated pitches and trailing rests."""
    rng = np.random.default_rng(seed)
    grid = np.full((steps, 4), REST, dtype=np.int64)
    for v, centre in enumerate((70, 64, 57, 48)):
        t = int(rng.integers(0, 3))
        while t < steps - 4:
            length = int(rng.integers(1, 9))
            if rng.random() < 0.85:
                grid[t, v] = tok(int(np.clip(centre + rng.integers(-6, 7), PITCH_LOW, PITCH_HIGH)))
                grid[t + 1 : t + length, v] = HOLD
            t += length
    grid[8:12, 0] = [tok(67), tok(67), HOLD, tok(67)]  # the same pitch struck again
    return grid


@pytest.fixture(scope="module")
def grid() -> np.ndarray:
    return random_grid(0, steps=128)


def test_notes_round_trip(grid):
    notes = codec.grid_to_notes(grid)
    assert all(isinstance(n, codec.Note) and n.length >= 1 for n in notes)
    assert (codec.notes_to_grid(notes, steps=len(grid)) == grid).all()
    assert [n for n in notes if n.voice == 0 and 8 <= n.start < 12] == [
        codec.Note(0, 8, 1, 67), codec.Note(0, 9, 2, 67), codec.Note(0, 11, 1, 67)]


def test_notes_to_grid_refuses_bad_notes():
    with pytest.raises(ValueError, match="overlaps"):
        codec.notes_to_grid([(0, 0, 4, 60), (0, 2, 4, 62)])
    with pytest.raises(ValueError, match="pitch range"):
        codec.notes_to_grid([(3, 0, 4, 90)])  # a bass at MIDI 90 cannot even be written as a token
    with pytest.raises(ValueError, match="only 4 steps"):
        codec.notes_to_grid([(0, 0, 8, 60)], steps=4)


@pytest.mark.parametrize("seed", range(5))
def test_midi_round_trip_is_exact(seed):
    grid = random_grid(seed)
    data = codec.to_midi_bytes(grid, tempo_bpm=96)
    assert (codec.midi_bytes_to_grid(data) == grid).all()


def test_midi_file_is_format_1_with_a_track_per_voice(grid):
    data = codec.to_midi_bytes(grid, tempo_bpm=120)
    assert data[:4] == b"MThd" and struct.unpack(">IHHH", data[4:14]) == (6, 1, 5, codec.TICKS_PER_QUARTER)
    assert data.count(b"MTrk") == 5 and b"\xff\x51\x03\x07\xa1\x20" in data  # 500000 us per quarter
    for name in (b"soprano", b"alto", b"tenor", b"bass"):
        assert name in data


def test_orphan_holds_come_back_as_rests():
    grid = np.array([[HOLD, tok(60), REST, tok(40)], [HOLD, HOLD, HOLD, HOLD]] * 8)
    back = codec.midi_bytes_to_grid(codec.to_midi_bytes(grid))
    assert (back[:, 0] == REST).all() and back[2, 2] == REST and (back[:, 1] == grid[:, 1]).all()


def test_midi_reader_rejects_other_files():
    with pytest.raises(ValueError, match="MThd"):
        codec.midi_bytes_to_grid(b"RIFF0000WAVE")
    with pytest.raises(ValueError, match="truncated"):
        codec.midi_bytes_to_grid(codec.to_midi_bytes(random_grid(1))[:-20])


def test_audio_is_finite_loud_enough_and_as_long_as_the_music(grid):
    audio = render.render_audio(grid, tempo_bpm=100, sample_rate=22050)
    seconds = len(grid) * render.step_seconds(100) + render.TAIL_SECONDS  # 128 steps at 100 bpm: 19.2 s + tail
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - seconds * 22050) <= 2
    assert np.isfinite(audio).all() and np.abs(audio).max() == pytest.approx(render.PEAK, abs=1e-3)
    assert np.sqrt(np.mean(audio[: 19 * 22050] ** 2)) > 0.05  # not silent while notes play
    assert (render.render_audio(grid, 100) == audio).all()  # deterministic (seeded reverb)


def test_the_low_pass_never_clips(grid, monkeypatch):
    """torchaudio's biquad clamps to [-1, 1]; four loud voices must be scaled down before it."""
    import torchaudio.functional as AF

    seen, original = [], AF.lowpass_biquad

    def spy(x, *args, **kwargs):
        seen.append(float(x.abs().max()))
        return original(x, *args, **kwargs)

    monkeypatch.setattr(AF, "lowpass_biquad", spy)
    full = np.repeat(np.array([[tok(79), tok(74), tok(67), tok(60)]]), 64, axis=0)  # every voice struck each 16th
    render.render_audio(full, 100)
    render.render_audio(grid, 100)
    assert len(seen) == 2 and max(seen) <= 1.0


def test_audio_at_other_rates_and_tempi():
    grid = random_grid(2, steps=32)
    audio = render.render_audio(grid, tempo_bpm=60, sample_rate=16000)
    assert abs(len(audio) - (32 * 0.25 + render.TAIL_SECONDS) * 16000) <= 2 and np.isfinite(audio).all()


def test_a_silent_grid_is_silent():
    audio = render.render_audio(np.zeros((64, 4), dtype=np.int64), tempo_bpm=100)
    assert len(audio) > 0 and np.abs(audio).max() < 1e-6


def test_eight_bars_render_well_under_a_second(grid):
    assert len(grid) == 8 * STEPS_PER_BAR
    render.render_audio(grid, 100)  # warm-up: torch's first call allocates
    best = min(_timed(lambda: render.render_audio(grid, 100)) for _ in range(3))
    assert best < 1.0, f"8 bars took {best:.2f} s to render"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def test_wav_bytes_read_back_as_16_bit_pcm(grid):
    soundfile = pytest.importorskip("soundfile")
    audio = render.render_audio(grid[:32], 100)
    data = render.to_wav_bytes(audio, 22050)
    back, rate = soundfile.read(io.BytesIO(data), dtype="float32")
    info = soundfile.info(io.BytesIO(data))
    assert data[:4] == b"RIFF" and rate == 22050 and info.subtype == "PCM_16"
    assert len(back) == len(audio) and np.abs(back - audio).max() < 1e-3


def test_piano_roll_shows_every_voice_in_its_colour(grid):
    img = render.piano_roll_image(grid)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert 600 <= img.shape[1] <= 820 and 200 <= img.shape[0] <= 400
    colours = {tuple(c) for c in img.reshape(-1, 3)}
    assert all(c in colours for c in render.VOICE_COLOURS)
    empty = render.piano_roll_image(np.zeros((64, 4), dtype=np.int64))
    assert not any(c in {tuple(x) for x in empty.reshape(-1, 3)} for c in render.VOICE_COLOURS)


def test_mel_spectrogram_picture(grid):
    audio = render.render_audio(grid[:64], 100)
    img = render.mel_spectrogram_image(audio, 22050, width=640, height=200)
    assert img.shape == (200, 640, 3) and img.dtype == np.uint8 and img.std() > 10


def test_module_works_without_torch(tmp_path):
    """The app imports this module and draws/exports without torch (blocked here on purpose)."""
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['torchaudio'] = None\n"
        "import numpy as np\n"
        "from studio.music import codec, render\n"
        "g = np.zeros((32, 4), dtype=np.int64); g[0] = [40, 35, 30, 20]; g[1:] = 1\n"
        "assert (codec.midi_bytes_to_grid(codec.to_midi_bytes(g)) == g).all()\n"
        "assert render.piano_roll_image(g).shape[2] == 3 and len(codec.grid_to_notes(g)) == 4\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr
