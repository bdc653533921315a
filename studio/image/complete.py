"""Complete a picture: the pictures a visitor starts from, the region they hide, and every model's fills.

Pictures are 28x28 grey, white garment on black, as Fashion-MNIST has them. An uploaded picture is turned
grey, cropped to its content, fitted into 20x20 pixels and centred on 28x28 (the data set's own framing), and
inverted when its border is light (a photo of a dark garment on a light background).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from studio.image.codec import make_grid
from studio.image.masks import PRESETS, SIDE, preset_mask
from studio.registry.manifest import HELDOUT_DIR
from studio.registry.serving import ModelRegistry
from studio.ui.inputs import generator_for

HELD_OUT_FILE = HELDOUT_DIR / "images.npz"  # 300 Fashion-MNIST test images (scripts/make_heldout_samples.py)
STROKES = "my strokes"
REGIONS = (*PRESETS, STROKES)
CANVAS_SCALE = 10  # the painting canvas shows the picture at 280x280
HOLE_RGB = (255, 0, 170)  # how the hidden region is shown: a colour no grey picture has


class PictureError(ValueError):
    """A picture or region that cannot be completed; the message says what to do instead."""


@functools.cache
def held_out_pictures() -> tuple[np.ndarray, np.ndarray]:
    """(uint8 [300, 28, 28, 1] test images, their labels [300]): never trained on. Read once."""
    with np.load(HELD_OUT_FILE) as data:
        images, labels = data["images"][..., None], data["labels"].astype(np.int64)
    images.setflags(write=False)  # shared by every request
    labels.setflags(write=False)
    return images, labels


def picture_from_file(path: str | Path) -> np.ndarray:
    """An uploaded file as uint8 [28, 28, 1], framed as Fashion-MNIST frames its pictures."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            grey = np.asarray(image.convert("L"), dtype=np.float64)
    except (UnidentifiedImageError, OSError, ValueError):
        raise PictureError(f"{Path(path).name} is not a picture this app can read: upload a PNG, JPEG or WebP "
                           "image.") from None
    if grey.size == 0:
        raise PictureError("the uploaded picture is empty: upload a PNG, JPEG or WebP image.")
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 127:  # a dark garment on a light background: Fashion-MNIST is the other way round
        grey = 255.0 - grey
    rows, cols = np.flatnonzero(grey.max(1) > 20), np.flatnonzero(grey.max(0) > 20)
    if rows.size and cols.size:
        grey = grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # crop to the content
    h, w = grey.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(grey.astype(np.uint8)).resize(size, Image.Resampling.LANCZOS))
    picture = np.zeros((SIDE, SIDE), np.uint8)
    top, left = (SIDE - small.shape[0]) // 2, (SIDE - small.shape[1]) // 2
    picture[top : top + small.shape[0], left : left + small.shape[1]] = small
    return picture[..., None]


def canvas_background(picture: np.ndarray) -> np.ndarray:
    """uint8 [28, 28, 1] -> the RGB picture at the canvas's size [280, 280, 3], to paint on."""
    big = np.kron(picture[..., 0], np.ones((CANVAS_SCALE, CANVAS_SCALE), np.uint8))
    return np.repeat(big[..., None], 3, axis=2)


def mask_from_strokes(layers: list[np.ndarray] | None) -> np.ndarray:
    """The editor's paint layers (RGBA [H, W, 4], any size) -> uint8 [28, 28, 1]: 0 under any stroke."""
    painted = np.zeros((SIDE, SIDE), bool)
    for layer in layers or []:
        layer = np.asarray(layer)
        if layer.ndim != 3 or layer.shape[2] < 4:
            continue
        alpha = layer[..., 3] > 0  # (H, W)
        rows = np.minimum(np.arange(alpha.shape[0]) * SIDE // alpha.shape[0], SIDE - 1)  # (H,) pixel row
        cols = np.minimum(np.arange(alpha.shape[1]) * SIDE // alpha.shape[1], SIDE - 1)  # (W,)
        cell = (rows[:, None] * SIDE + cols[None, :]).ravel()  # (H * W,) the picture pixel under each point
        share = np.bincount(cell, weights=alpha.ravel(), minlength=SIDE * SIDE) / np.maximum(
            np.bincount(cell, minlength=SIDE * SIDE), 1)
        painted |= (share >= 0.25).reshape(SIDE, SIDE)  # a quarter of a pixel's cell painted hides it
    return (~painted).astype(np.uint8)[..., None]


def region_mask(region: str, layers: list[np.ndarray] | None = None) -> np.ndarray:
    """uint8 [28, 28, 1] (1 = given) for a preset or the visitor's strokes; PictureError when it hides nothing."""
    if region == STROKES:
        mask = mask_from_strokes(layers)
        if mask.all():
            raise PictureError("Nothing is painted yet: paint over the part of the picture to hide, or pick a "
                               f"preset ({', '.join(PRESETS)}).")
        return mask
    if region not in PRESETS:
        raise PictureError(f"'{region}' is not a region: choose one of {', '.join(REGIONS)}.")
    return preset_mask(region)


def shown_with_hole(picture: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """uint8 RGB [28, 28, 3]: the picture with its hidden region in the hole colour."""
    rgb = np.repeat(picture, 3, axis=2)
    rgb[mask[..., 0] == 0] = HOLE_RGB
    return rgb


def fills(registry: ModelRegistry, model_id: str, picture: np.ndarray, mask: np.ndarray,
          seeds: list[int]) -> np.ndarray:
    """The model's fills of ``picture`` [28, 28, 1] where ``mask`` is 0, one per seed: [S, 28, 28, 1], drawn at
    its default temperature (the one its steering numbers are scored at)."""
    generator = generator_for(registry, model_id)
    temperature = registry.get(model_id).sampling.get("temperature", 1.0)
    return np.concatenate([generator.sample(1, seed=seed, mask=mask, visible=picture[None], temperature=temperature)
                           for seed in seeds])


def strip(picture: np.ndarray, mask: np.ndarray, completions: np.ndarray, scale: int = 3) -> np.ndarray:
    """One model's row: the original, the picture with its hole, then the completions [S, 28, 28, 1]."""
    tiles = np.concatenate([np.repeat(picture[None], 3, axis=3), shown_with_hole(picture, mask)[None],
                            np.repeat(completions, 3, axis=3)])
    return make_grid(tiles, columns=len(tiles), scale=scale)


def sheet(rows: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """One picture of every model's row (uint8 RGB strips from ``strip``), each under its model's name."""
    from PIL import Image, ImageDraw

    width = max(row.shape[1] for _, row in rows)
    title = 18  # pixels of name above each row
    out = Image.new("RGB", (width, sum(row.shape[0] + title for _, row in rows)), "white")
    draw = ImageDraw.Draw(out)
    y = 0
    for name, row in rows:
        draw.text((6, y + 3), name, fill=(20, 20, 20))
        out.paste(Image.fromarray(row), (0, y + title))
        y += row.shape[0] + title
    return np.asarray(out)
