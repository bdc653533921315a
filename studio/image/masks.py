"""Regions of a 28x28 picture that a visitor gives or hides: the three presets and the training family.

A mask follows the ONNX contract: 1 where the pixel is given (visible), 0 where the model draws it.
The training family mixes "all hidden" (unconditional generation) with halves, squares, rectangles, brush
strokes and scattered pixels, so one model serves generation, the presets and a visitor's own strokes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # training only: the app (which serves without torch) reads the presets
    import torch

SIDE = 28

#: Preset regions to hide, by the name the app shows: (rows, columns) slices of the hidden part.
PRESETS: dict[str, tuple[slice, slice]] = {
    "bottom half": (slice(14, 28), slice(0, 28)),
    "left half": (slice(0, 28), slice(0, 14)),
    "centre square": (slice(7, 21), slice(7, 21)),
}


def preset_mask(name: str) -> np.ndarray:
    """uint8 [28, 28, 1]: 1 where given, 0 in the preset's hidden region."""
    if name not in PRESETS:
        raise ValueError(f"unknown region {name!r}; choose one of {', '.join(PRESETS)}")
    mask = np.ones((SIDE, SIDE, 1), np.uint8)
    rows, cols = PRESETS[name]
    mask[rows, cols] = 0
    return mask


#: Training mix: (kind, probability). "all hidden" teaches unconditional generation.
TRAINING_MIX = (("all hidden", 0.3), ("half", 0.2), ("square", 0.15), ("rectangle", 0.15), ("strokes", 0.1),
                ("pixels", 0.1))


def training_masks(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """float [n, 1, 28, 28] masks drawn from the training mix (1 = given)."""
    import torch

    g = generator
    kinds = torch.multinomial(torch.tensor([p for _, p in TRAINING_MIX]), n, replacement=True, generator=g)  # (n,)
    masks = torch.ones(n, 1, SIDE, SIDE)
    rows = torch.arange(SIDE)[:, None]  # (28, 1)
    cols = torch.arange(SIDE)[None, :]  # (1, 28)
    for i, kind in enumerate(TRAINING_MIX[k][0] for k in kinds.tolist()):
        r = torch.rand(8, generator=g)
        if kind == "all hidden":
            masks[i] = 0
        elif kind == "half":  # top, bottom, left or right half, the border anywhere from 10 to 18
            cut = 10 + int(r[0] * 9)
            side = int(r[1] * 4)
            hidden = [rows >= cut, rows < cut, cols < cut, cols >= cut][side]
            masks[i, 0][hidden.expand(SIDE, SIDE)] = 0
        elif kind in ("square", "rectangle"):
            h = 8 + int(r[0] * 13)
            w = h if kind == "square" else 6 + int(r[1] * 17)
            top, left = int(r[2] * (SIDE - h + 1)), int(r[3] * (SIDE - w + 1))
            masks[i, 0, top : top + h, left : left + w] = 0
        elif kind == "strokes":  # a few thick line segments, as a brush would paint
            for _ in range(1 + int(r[0] * 3)):
                p = torch.rand(5, generator=g)
                y0, x0, y1, x1 = (p[:4] * (SIDE - 1)).tolist()
                radius = 1.5 + 2.5 * float(p[4])
                t = torch.linspace(0, 1, 24)[:, None, None]  # (24, 1, 1) points along the segment
                ys, xs = y0 + t * (y1 - y0), x0 + t * (x1 - x0)
                near = ((rows - ys) ** 2 + (cols - xs) ** 2).amin(0) <= radius**2  # (28, 28)
                masks[i, 0][near] = 0
        else:  # scattered pixels: each hidden with a probability drawn per picture
            masks[i, 0] = (torch.rand(SIDE, SIDE, generator=g) > 0.3 + 0.65 * float(r[0])).float()
    return masks
