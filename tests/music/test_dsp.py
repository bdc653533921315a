"""The renderer's two DSP backends agree: torchaudio (full install) and numpy (app-only install)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.music import dsp, render

pytest.importorskip("torchaudio")


@pytest.fixture
def numpy_backend(monkeypatch):
    """Run the renderer as the app-only install does (no torch)."""
    monkeypatch.setattr(dsp, "backend", lambda: "numpy")


def music_like(seconds: float = 2.0, rate: int = 11025) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    x = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 330.0, 2500.0, 5000.0)) + 0.1 * rng.standard_normal(len(t))
    return (0.2 * x).astype(np.float32)


def test_lowpass_matches_torchaudio_biquad():
    x = music_like()
    expected = dsp.lowpass(x, 11025, 4000.0)
    got = dsp._fft_convolve(x.astype(np.float64), dsp._biquad_impulse(11025, 4000.0))[: len(x)]
    assert np.max(np.abs(got - expected)) < 1e-5


def test_resample_2x_matches_torchaudio_inside_the_signal():
    x = dsp.lowpass(music_like(), 11025, 4000.0)  # band-limited, as the renderer feeds it
    expected = dsp.resample(x, 11025, 22050)
    got = dsp._resample_2x(x.astype(np.float64))
    inner = slice(200, -200)  # the two differ at the ends (padding) and near Nyquist, where torchaudio's
    rms = np.sqrt(np.mean(expected[inner] ** 2))  # windowed sinc rolls off and this test puts a 5 kHz tone
    assert np.sqrt(np.mean((got[inner] - expected[inner]) ** 2)) < 0.03 * rms


def test_mel_power_matches_torchaudio():
    x = music_like(rate=22050)
    expected = dsp.mel_power(x, 22050, n_fft=1024, hop=256, n_mels=80, f_max=6000.0)
    got = dsp._mel_power_numpy(x, 22050, n_fft=1024, hop=256, n_mels=80, f_max=6000.0)
    assert got.shape == expected.shape
    assert np.allclose(got, expected, rtol=1e-3, atol=1e-3 * expected.max())


def test_the_numpy_backend_renders_the_same_music(monkeypatch):
    from tests.music.test_render import random_grid

    grid = random_grid(3)
    assert dsp.backend() == "torchaudio"
    with_torchaudio = render.render_audio(grid, tempo_bpm=120, sample_rate=22050)
    monkeypatch.setattr(dsp, "backend", lambda: "numpy")
    with_numpy = render.render_audio(grid, tempo_bpm=120, sample_rate=22050)
    assert with_numpy.shape == with_torchaudio.shape
    inner = slice(500, -500)
    err = np.sqrt(np.mean((with_numpy[inner] - with_torchaudio[inner]) ** 2))
    assert err < 0.01 * np.sqrt(np.mean(with_torchaudio[inner] ** 2))
    picture = render.mel_spectrogram_image(with_numpy, 22050)
    assert picture.shape == (240, 800, 3) and picture.std() > 10


def test_numpy_backend_refuses_other_rates_with_the_fix(numpy_backend):
    with pytest.raises(ValueError, match="requirements.txt"):
        dsp.resample(np.zeros(100, np.float32), 11025, 16000)
