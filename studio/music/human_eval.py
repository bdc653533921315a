"""Items for human evaluation: four bars of audio, real (a held-out chorale fragment) or from a model at the
Music tab's default settings (temperature 1, 100 bpm; the Transformer writes from scratch)."""

from __future__ import annotations

import functools

import numpy as np

from studio.music.render import to_wav_bytes
from studio.music.sampling import draw_piece
from studio.music.tab import SAMPLE_RATE, music_generator, piece_audio
from studio.registry.manifest import HELDOUT_DIR
from studio.registry.serving import ModelRegistry
from studio.ui.results import bytes_path

KIND = "audio"
MAIN_METRICS = ("pitch_class_kl", "consonance_on_beats", "voice_crossing")
BARS = 4
TEMPO_BPM = 100
REAL_FILE = HELDOUT_DIR / "chorales.npz"  # scripts/make_heldout_samples.py


@functools.cache
def real_fragments() -> np.ndarray:
    """Held-out four-bar fragments, int64 [N, 64, 4]."""
    with np.load(REAL_FILE) as data:
        return data["fragments"].astype(np.int64)


def _audio(piece: np.ndarray) -> str:
    """The piece as a WAV file named by its content (nothing about its source)."""
    return bytes_path(to_wav_bytes(piece_audio(piece, TEMPO_BPM), SAMPLE_RATE), "item.wav")


def real_count() -> int:
    return len(real_fragments())


def real_item(index: int) -> str:
    return _audio(real_fragments()[index])


def model_item(registry: ModelRegistry, model_id: str, seed: int) -> str:
    return _audio(draw_piece(music_generator(registry, model_id), BARS, seed, 1.0))
