"""Items for human evaluation: one image, real (a held-out test image) or from a model, enlarged for the eye."""

from __future__ import annotations

import numpy as np

from studio.image.codec import make_grid
from studio.image.complete import HELD_OUT_FILE, held_out_pictures
from studio.image.protocol import draw
from studio.registry.serving import ModelRegistry
from studio.ui.inputs import generator_for
from studio.ui.results import png_path

KIND = "image"  # the tab shows a picture
SCALE = 8  # 28 px -> 224 px on screen
#: The automatic metrics set beside the human verdict on the leaderboard.
MAIN_METRICS = ("fd", "precision", "kl_to_uniform")
REAL_FILE = HELD_OUT_FILE  # scripts/make_heldout_samples.py writes it


def real_images() -> np.ndarray:
    """Held-out test images, uint8 [N, 28, 28]."""
    return held_out_pictures()[0][..., 0]


def _picture(image: np.ndarray) -> str:
    """One image [28, 28(, 1)] enlarged SCALE times, as a PNG named by its content (nothing about its source)."""
    return png_path(make_grid(np.asarray(image, dtype=np.uint8)[None], pad=0, scale=SCALE), "judge-item")


def real_count() -> int:
    return len(real_images())


def real_item(index: int) -> str:
    return _picture(real_images()[index])


def model_item(registry: ModelRegistry, model_id: str, seed: int) -> str:
    return _picture(draw(generator_for(registry, model_id), 1, seed, **registry.get(model_id).sampling)[0])
