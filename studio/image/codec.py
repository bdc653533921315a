"""Images: pixel scaling, the in-graph uint8 output head, and grids. Numpy only at serve time."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def to_unit_range(images_uint8: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W] -> float32 [N, 1, H, W] in [-1, 1] (the training scale)."""
    return (images_uint8.astype(np.float32)[:, None] / 127.5) - 1.0


def make_grid(images: np.ndarray, columns: int | None = None, pad: int = 2, scale: int = 1) -> np.ndarray:
    """uint8 [N, H, W, C] -> one uint8 [rows*H', cols*W', C] picture, optionally upscaled by ``scale``."""
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    columns = columns or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / columns)
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i, img in enumerate(images):
        r, col = divmod(i, columns)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y : y + h, x : x + w] = img
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    if c == 1:
        grid = grid[..., 0]
    return grid


def save_image_grid(images: np.ndarray, path: Path, columns: int = 8) -> None:
    """uint8 [N, 28, 28, 1] -> a PNG grid (8 columns by default), written atomically."""
    from PIL import Image

    from studio.atomic import atomic_write

    grid = make_grid(images, columns=columns, scale=2)
    atomic_write(path, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))
