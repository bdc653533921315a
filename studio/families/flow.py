"""Normalizing-flow process: exact maximum likelihood on uniformly dequantized discrete data.

A ``Dequantization`` (supplied by the modality's recipe) maps discrete samples to continuous values,
each on a cell of known volume. The flow's density of those values is exact; -log p(x) plus the
log-volume of a cell is the exact NLL of that continuous (dequantized) model, and an upper bound on
the NLL of the discrete data (Theis et al. 2016). The exported generator is the inverse:
standard-normal noise -> sample; scaling the noise by T samples at temperature T.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from studio.families.base import GenerativeProcess, Phase, deep_copy_frozen


class Dequantization(Protocol):
    """Discrete samples <-> the flow's continuous space, with the cell volume that makes the NLL exact."""

    unit: str  # the likelihood's unit, e.g. "bits/dim"
    dims: int  # the flow's dimensions (the noise width)
    units: int  # how many units one sample has (the likelihood is per unit)
    cell_log_volume: float  # log-volume of one sample's cell, nats

    def shape(self) -> tuple[int, ...]: ...  # the flow's input shape, without the batch axis
    def dequantize(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor: ...
    def noise_like(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor: ...
    def head(self, flow: nn.Module) -> nn.Module: ...  # the export head: noise -> sample


class FlowProcess(GenerativeProcess):
    family = "flow"

    def __init__(self, flow: nn.Module, *, modality: str, sample_shape: tuple[int, ...], lr: float = 1e-3,
                 eval_data: torch.Tensor | None = None, preview_fn: Any = None,
                 dequantization: Dequantization, charset: str | None = None, batch_example: Any = None):
        super().__init__(modality=modality, charset=charset, batch_example=batch_example)
        self.flow = flow
        self._sample_shape = tuple(sample_shape)
        self.deq = dequantization
        self.dims = self.deq.dims  # the flow's dimensions (the noise width)
        self.lr = lr
        self.eval_data = eval_data
        self.preview_fn = preview_fn

    @property
    def z_dim(self) -> int:
        return self.dims

    def sample_shape(self) -> tuple[int, ...]:
        return self._sample_shape

    def nll_bits(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Per-example NLL of the dequantized model [N], in bits per unit (per pixel dim, character, token)."""
        log_p = self.flow.log_prob(self.deq.dequantize(x, noise))
        nats = -log_p - self.deq.cell_log_volume
        return nats / (self.deq.units * math.log(2.0))

    def loss(self, x: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        bits = self.nll_bits(x)
        return {"loss": bits.mean()}

    def phases(self) -> list[Phase]:
        return [Phase("flow", self.flow, self.loss, lr=self.lr)]

    def export_module(self) -> nn.Module:
        return self.deq.head(deep_copy_frozen(self.flow).eval().freeze_for_export())

    @torch.no_grad()
    def test_nll(self, data: torch.Tensor, batch_size: int = 500) -> float:
        was_training = self.training
        self.eval()
        gen = torch.Generator().manual_seed(1234)  # fixed dequantization noise: a reproducible number
        device = next(self.parameters()).device
        total = 0.0
        for i in range(0, len(data), batch_size):
            x = data[i : i + batch_size]
            noise = self.deq.noise_like(x, gen)
            total += float(self.nll_bits(x.to(device), noise.to(device)).sum())
        self.train(was_training)
        return total / len(data)

    @torch.no_grad()
    def likelihood_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"likelihood": self.test_nll(data["test_tensor"]), "likelihood_unit": self.deq.unit,
                "likelihood_kind": "dequantized"}

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        if self.eval_data is None:
            return {}
        return {"likelihood": self.test_nll(self.eval_data[:2000])}

    @torch.no_grad()
    def write_preview(self, path: Path, step: int) -> None:
        if self.preview_fn is not None:
            self.preview_fn(self.export_module(), self.dims, path)
