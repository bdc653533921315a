"""The interface every family implements, so the training loop never asks which one it runs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

LossFn = Callable[[Any, int], dict[str, torch.Tensor]]


@dataclass
class Phase:
    """One optimisation phase: a loss over some parameters, with its own optimiser.

    ``loss(batch, step)`` returns a dict with a scalar ``"loss"`` to minimise and any other
    terms to log. GANs have two phases (``d`` then ``g``); the other families have one.
    """

    name: str
    module: nn.Module
    loss: LossFn
    lr: float
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    every: int = 1


def deep_copy_frozen(module: nn.Module) -> nn.Module:
    """A copy for EMA weights or export: same architecture, no gradients."""
    frozen = copy.deepcopy(module)
    for p in frozen.parameters():
        p.requires_grad_(False)
    return frozen


class GenerativeProcess(nn.Module):
    """A family's training process. Subclasses set ``family``; the recipe says which modality it serves.

    ``charset`` (text: character i of the vocabulary has id i) goes into the exported file's metadata.
    ``batch_example(n)`` gives a random batch shaped like the training data, for tests of any family;
    without it the process's data are images in the training scale.
    """

    family: str = ""
    kind: str = "one-shot"  # or "autoregressive": how the exported generator is driven
    #: The contract's conditions the exported generator takes ("class", "region"); () draws from noise only.
    conditions: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()  # with "class": the names of labels 0, 1, ...

    def __init__(self, *, modality: str, charset: str | None = None,
                 batch_example: Callable[[int], Any] | None = None):
        super().__init__()
        self.modality = modality
        self.charset = charset
        self.batch_example = batch_example

    def example_batch(self, n: int = 8) -> Any:
        """A random batch shaped like the training data."""
        if self.batch_example is not None:
            return self.batch_example(n)
        h, w, c = self.sample_shape()
        return torch.rand(n, c, h, w) * 2 - 1  # (N, C, H, W) in the training scale

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def ema_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        """(live, averaged) module pairs the loop keeps an exponential moving average for."""
        return []

    def export_module(self) -> nn.Module:
        """The z -> sample module that becomes the ONNX generator (eval mode)."""
        raise NotImplementedError

    @property
    def z_dim(self) -> int:
        raise NotImplementedError

    def sample_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @torch.no_grad()
    def write_preview(self, path: Path, step: int) -> None:
        """Draw a fixed-seed preview of the current model into ``path``."""

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        """Held-out numbers worth logging during training (may be empty)."""
        return {}

    @torch.no_grad()
    def likelihood_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        """Test-set likelihood numbers, in bits, with ``likelihood_kind`` saying exact or bound.

        ``data`` is the modality's data dict. Empty for families without a likelihood
        (a GAN has none: absent, not 0).
        """
        return {}

    def condition_example(self, n: int) -> dict[str, Any]:
        """Condition inputs for ``n`` export-parity samples (numpy, the contract's names); {} when unconditional."""
        return {}

    def generator_params(self) -> int:
        return sum(p.numel() for p in self.export_module().parameters())

    def export(self, entry_dir: Path) -> dict[str, Any]:
        """Write the served ONNX file(s) into ``entry_dir``; returns {"onnx", "kind", "parity"}."""
        from studio.onnx.export import export_generator

        path = entry_dir / "generator.onnx"
        parity = export_generator(self.export_module(), path, family=self.family, modality=self.modality,
                                  z_dim=self.z_dim, sample_shape=self.sample_shape(), charset=self.charset,
                                  conditions=self.conditions, classes=self.classes,
                                  condition_example=self.condition_example(16) or None)
        return {"onnx": path, "kind": "one-shot", "parity": parity}
