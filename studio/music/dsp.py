"""The four signal-processing steps the music renderer needs, on torchaudio when it is installed and on
numpy otherwise.

The full install (requirements.txt) has torchaudio and uses it. The app-only install
(requirements-app.txt) has no torch at all, so the same steps are written here in numpy: the low-pass
as the biquad's own impulse response, the reverb as an FFT convolution, the 2x resampling band-limited
in the frequency domain, the mel spectrogram as a Hann STFT with an HTK mel filter bank. tests/music
checks that the two backends agree.
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np


@functools.cache
def backend() -> str:
    """``"torchaudio"`` when it imports, else ``"numpy"`` (the app-only install). ``STUDIO_DSP=numpy`` picks
    numpy even where torchaudio is installed: the app process then never imports torch (about 450 MB)."""
    if os.environ.get("STUDIO_DSP", "").lower() == "numpy":
        return "numpy"
    try:
        import torchaudio.functional  # noqa: F401
    except ImportError:
        return "numpy"
    return "torchaudio"


# --- numpy ---------------------------------------------------------------------------------------
def _fft_convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full linear convolution [len(a) + len(b) - 1] through one real FFT."""
    n = len(a) + len(b) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:n]


def _biquad_impulse(rate: int, cutoff: float, q: float = 0.707, length: int = 256) -> np.ndarray:
    """The RBJ low-pass biquad's impulse response (the filter torchaudio's lowpass_biquad runs).

    At these cut-offs it decays below 1e-9 within a few dozen samples, so ``length`` taps reproduce
    the recursive filter to float32 precision.
    """
    w0 = 2 * math.pi * cutoff / rate
    alpha = math.sin(w0) / 2 / q
    b = np.array([(1 - math.cos(w0)) / 2, 1 - math.cos(w0), (1 - math.cos(w0)) / 2]) / (1 + alpha)
    a1, a2 = -2 * math.cos(w0) / (1 + alpha), (1 - alpha) / (1 + alpha)
    h = np.zeros(length)
    x = np.zeros(length)
    x[0] = 1.0
    for n in range(length):  # y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2]
        h[n] = (b[0] * x[n] + (b[1] * x[n - 1] if n >= 1 else 0) + (b[2] * x[n - 2] if n >= 2 else 0)
                - (a1 * h[n - 1] if n >= 1 else 0) - (a2 * h[n - 2] if n >= 2 else 0))
    return h


def _resample_2x(x: np.ndarray) -> np.ndarray:
    """Band-limited upsampling by 2: the spectrum zero-padded to twice the length. (n,) -> (2n,)"""
    n = len(x)
    spectrum = np.fft.rfft(x)
    padded = np.zeros(n + 1, dtype=complex)
    padded[: len(spectrum)] = spectrum
    if n % 2 == 0:  # the old Nyquist bin is split between +f and -f
        padded[n // 2] *= 0.5
    return np.fft.irfft(padded, 2 * n) * 2


def _mel_filters(n_freqs: int, f_max: float, n_mels: int, rate: int) -> np.ndarray:
    """Triangular HTK-scale mel filters, no normalisation: (n_freqs, n_mels)."""
    def mel(f):  # noqa: ANN001, ANN202
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    freqs = np.linspace(0, rate // 2, n_freqs)
    points = 700.0 * (10 ** (np.linspace(mel(0.0), mel(f_max), n_mels + 2) / 2595.0) - 1.0)
    slopes = points[None, :] - freqs[:, None]  # (n_freqs, n_mels + 2)
    gaps = np.diff(points)
    down = -slopes[:, :-2] / gaps[:-1]
    up = slopes[:, 2:] / gaps[1:]
    return np.maximum(0.0, np.minimum(down, up))


def _mel_power_numpy(wave: np.ndarray, rate: int, n_fft: int, hop: int, n_mels: int, f_max: float) -> np.ndarray:
    padded = np.pad(wave.astype(np.float64), n_fft // 2, mode="reflect")
    frames = 1 + (len(padded) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]  # (frames, n_fft)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann, as torch.hann_window
    power = np.abs(np.fft.rfft(padded[index] * window, axis=1)) ** 2  # (frames, n_fft // 2 + 1)
    return (power @ _mel_filters(n_fft // 2 + 1, f_max, n_mels, rate)).T  # (n_mels, frames)


# --- the four steps --------------------------------------------------------------------------------
def lowpass(x: np.ndarray, rate: int, cutoff: float) -> np.ndarray:
    """The low-pass biquad (Q 0.707), output clamped to [-1, 1] as torchaudio's is. float32 (n,)"""
    if backend() == "torchaudio":
        import torch
        import torchaudio.functional as AF

        return AF.lowpass_biquad(torch.from_numpy(np.ascontiguousarray(x, np.float32)), rate, cutoff).numpy()
    y = _fft_convolve(x.astype(np.float64), _biquad_impulse(rate, cutoff))[: len(x)]
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Full linear convolution, float32 [len(x) + len(kernel) - 1]."""
    if backend() == "torchaudio":
        import torch
        import torchaudio.functional as AF

        return AF.fftconvolve(torch.from_numpy(np.ascontiguousarray(x, np.float32)),
                              torch.from_numpy(np.ascontiguousarray(kernel, np.float32))).numpy()
    return _fft_convolve(x.astype(np.float64), kernel.astype(np.float64)).astype(np.float32)


def resample(x: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """``x`` at ``rate`` resampled to ``new_rate`` (the numpy backend does exactly 2x, all the renderer uses)."""
    if new_rate == rate:
        return x
    if backend() == "torchaudio":
        import torch
        import torchaudio.functional as AF

        return AF.resample(torch.from_numpy(np.ascontiguousarray(x, np.float32)), rate, new_rate).numpy()
    if new_rate != 2 * rate:
        raise ValueError(f"without torchaudio only 2x resampling is available ({rate} -> {2 * rate} Hz), not "
                         f"{rate} -> {new_rate} Hz. Install the full stack (pip install -r requirements.txt).")
    return _resample_2x(x.astype(np.float64)).astype(np.float32)


def mel_power(wave: np.ndarray, rate: int, n_fft: int, hop: int, n_mels: int, f_max: float) -> np.ndarray:
    """Mel power spectrogram (n_mels, frames): centred Hann STFT, power 2, HTK mel scale."""
    if backend() == "torchaudio":
        import torch
        import torchaudio.transforms as T

        spec = T.MelSpectrogram(sample_rate=rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, f_max=f_max)
        return spec(torch.from_numpy(np.ascontiguousarray(wave, np.float32))).numpy()
    return _mel_power_numpy(wave, rate, n_fft, hop, n_mels, f_max).astype(np.float32)
