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


class Steers:
    """What every process that steers shares; mixed in before its family's process. Its ``masks`` (the
    training family of regions), ``classes`` and ``preview_fn`` (which reads the process) are set by it."""

    conditions = ("class", "region")
    masks: MaskFn
    classes: tuple[str, ...]
    preview_fn: Any

    def condition_example(self, n: int) -> dict[str, Any]:
        return condition_example(n, self.masks, len(self.classes), self.sample_shape())

    @torch.no_grad()
    def write_preview(self, path: Any, step: int) -> None:
        if self.preview_fn is not None:
            self.preview_fn(self, path)


#: (a batch of each tensor, a generator) -> (per-example or summed totals, the matching counts)
BatchTerms = Callable[..., tuple[torch.Tensor, torch.Tensor]]


@torch.no_grad()
def held_out_ratio(module: torch.nn.Module, terms: BatchTerms, tensors: tuple[torch.Tensor, ...],
                   batch_size: int = 500, seed: int = 1234) -> float:
    """Sum of ``terms``' totals over sum of its counts, over ``tensors`` in batches: in eval mode, with noise
    from a generator seeded ``seed``, so the number is reproducible (a held-out NLL per hidden element)."""
    was_training = module.training
    module.eval()
    gen = torch.Generator().manual_seed(seed)
    device = next(module.parameters()).device
    total = count = 0.0
    for i in range(0, len(tensors[0]), batch_size):
        t, c = terms(*(v[i : i + batch_size].to(device) for v in tensors), gen)
        total, count = total + float(t.sum()), count + float(c.sum())
    module.train(was_training)
    return total / max(count, 1.0)
