"""Items for human evaluation: one image, real (a held-out test image) or from a model, enlarged for the eye;
and for "Which completion is better?", one held-out picture with a region hidden and two models' fills of it."""

from __future__ import annotations

import random
from typing import Any, NamedTuple

import numpy as np

from studio.image import complete
from studio.image.codec import make_grid
from studio.image.complete import HELD_OUT_FILE, held_out_pictures, shown_with_hole
from studio.image.masks import PRESETS, preset_mask
from studio.image.protocol import draw
from studio.registry.serving import ModelRegistry
from studio.ui.inputs import MAX_SEED, generator_for
from studio.ui.results import png_path

KIND = "image"  # the tab shows a picture
SCALE = 8  # 28 px -> 224 px on screen
#: The automatic metrics set beside the human verdict on the leaderboard.
MAIN_METRICS = ("fd", "precision", "kl_to_uniform")
REAL_FILE = HELD_OUT_FILE  # scripts/make_heldout_samples.py writes it
#: "Which completion is better?": the models that take part, in the words of a message, and the question.
COMPLETING = "image models that complete pictures"
COMPLETION_QUESTION = ("Which completion is better? Both models filled the pink region of the same picture "
                       "(the pixels around it are given). The models' names appear after you vote.")


def real_images() -> np.ndarray:
    """Held-out test images, uint8 [N, 28, 28]."""
    return held_out_pictures()[0][..., 0]


def _picture(image: np.ndarray) -> str:
    """One image [28, 28, 1 or 3] (or [28, 28]) enlarged SCALE times, as a PNG named by its content (nothing
    about its source)."""
    return png_path(make_grid(np.asarray(image, dtype=np.uint8)[None], pad=0, scale=SCALE), "judge-item")


def real_count() -> int:
    return len(real_images())


def real_item(index: int) -> str:
    return _picture(real_images()[index])


def model_item(registry: ModelRegistry, model_id: str, seed: int) -> str:
    return _picture(draw(generator_for(registry, model_id), 1, seed, **registry.get(model_id).sampling)[0])


# -- Which completion is better? -------------------------------------------------------------------------
class CompletionPair(NamedTuple):
    given: str  # the picture with its hidden region in the hole colour (a PNG path)
    left: str  # the left model's completion (a PNG path)
    right: str
    shown: dict[str, Any]  # what the vote's ticket records: the picture's number, the region, each side's seed


def can_complete(registry: ModelRegistry, model_id: str) -> bool:
    """Whether the model's file takes a region to fill (its contract's "region" condition)."""
    return "region" in registry.get(model_id).conditions


def completion_metrics(metrics: dict[str, Any]) -> dict[str, str]:
    """The recorded completion scores set beside the human rating, averaged over the preset regions:
    agreement (the fill keeps the picture's class) and the Fréchet distance of the completed pictures."""
    per_region = [v for v in ((metrics.get("steering") or {}).get("completion") or {}).values() if isinstance(v, dict)]

    def mean(key: str) -> float | None:
        values = [v[key] for v in per_region if isinstance(v.get(key), (int, float))]
        return sum(values) / len(values) if values else None

    agreement, fd = mean("agreement"), mean("fd")
    return {"completion agreement": "—" if agreement is None else f"{agreement:.2f}",
            "completion FD": "—" if fd is None else f"{fd:.2f}"}


def completion_pair(registry: ModelRegistry, left_id: str, right_id: str, rng: random.Random) -> CompletionPair:
    """A held-out test picture and a preset region drawn by ``rng``, and each model's fill of that same picture
    and region from its own random seed."""
    pictures = held_out_pictures()[0]
    index = rng.randrange(len(pictures))
    region = rng.choice(list(PRESETS))
    picture, mask = pictures[index], preset_mask(region)
    seeds = [rng.randrange(MAX_SEED + 1) for _ in range(2)]
    fills = [complete.fills(registry, model_id, picture, mask, [seed])[0]
             for model_id, seed in zip((left_id, right_id), seeds)]
    return CompletionPair(_picture(shown_with_hole(picture, mask)), _picture(fills[0]), _picture(fills[1]),
                          {"picture": index, "region": region, "seeds": seeds})
