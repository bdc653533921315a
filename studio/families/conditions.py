"""What the families that steer share: each training step's conditions, and the conditions an export's parity
check feeds. A mask is 1 where a value is given; label -1 is any class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

MaskFn = Callable[[int, torch.Generator | None], torch.Tensor]  # n -> float masks [n, *element shape], 1 = given


def draw_conditions(x: torch.Tensor, label: torch.Tensor, masks: MaskFn, label_drop: float,
                    gen: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(label with a ``label_drop`` share set to -1, masks [N, ...]) for a batch ``x`` [N, ...]."""
    given = masks(len(x), gen).to(x.device)
    dropped = (torch.rand(len(x), generator=gen) < label_drop).to(x.device)
    return torch.where(dropped, torch.full_like(label, -1), label), given


def condition_example(n: int, masks: MaskFn, classes: int, sample_shape: tuple[int, ...]) -> dict[str, Any]:
    """The contract's condition inputs for ``n`` parity samples: masks from the training family, labels from -1
    to ``classes`` - 1, random uint8 pixels as the visible values."""
    rng = np.random.default_rng(0)
    mask = masks(n, torch.Generator().manual_seed(0)).numpy().reshape(n, *sample_shape).astype(np.uint8)
    return {"label": rng.integers(-1, classes, n).astype(np.int64), "mask": np.ascontiguousarray(mask),
            "visible": rng.integers(0, 256, (n, *sample_shape)).astype(np.uint8)}
