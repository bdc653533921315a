"""Normalizing-flow process: exact maximum likelihood on uniformly dequantized 8-bit data.

Pixels k in {0..255} become x = (k + u) / 256 - 1/2 with u ~ U[0, 1). The flow's density of x is
exact; -log p(x) + D log 256 is the exact NLL of that continuous (dequantized) model, and an upper
bound on the NLL of the discrete pixels (Theis et al. 2016). The exported generator is the
inverse: standard-normal noise -> image; scaling the noise by T samples at temperature T.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from studio.families.base import GenerativeProcess, Phase
from studio.train import deep_copy_frozen

BINS = 256


def dequantize(x_unit: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
    """Training-scale pixels in [-1, 1] -> uniformly dequantized values in [-1/2, 1/2)."""
    pixels = ((x_unit + 1.0) * 127.5).round()  # exact 8-bit values
    noise = torch.rand_like(pixels) if noise is None else noise
    return (pixels + noise) / BINS - 0.5


class FlowToUint8(nn.Module):
    """Export head: eps [N, D] -> uint8 image [N, H, W, C] through the flow's inverse."""

    def __init__(self, flow: nn.Module):
        super().__init__()
        self.flow = flow

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.flow.from_noise(z)  # (N, C, H, W) in about [-1/2, 1/2)
        pixels = torch.floor((x + 0.5) * BINS).clamp(0.0, BINS - 1.0)
        return pixels.permute(0, 2, 3, 1).to(torch.uint8)  # (N, H, W, C)


class FlowProcess(GenerativeProcess):
    family = "flow"

    def __init__(self, flow: nn.Module, *, modality: str, sample_shape: tuple[int, ...], lr: float = 1e-3,
                 eval_data: torch.Tensor | None = None, preview_fn: Any = None):
        super().__init__()
        self.modality = modality
        self.flow = flow
        self._sample_shape = tuple(sample_shape)
        self.dims = int(math.prod(sample_shape))
        self.lr = lr
        self.eval_data = eval_data
        self.preview_fn = preview_fn

    @property
    def z_dim(self) -> int:
        return self.dims

    def sample_shape(self) -> tuple[int, ...]:
        return self._sample_shape

    def nll_bpd(self, x_unit: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Per-example NLL in bits/dim of the dequantized model [N]."""
        log_p = self.flow.log_prob(dequantize(x_unit, noise))
        nats = -log_p + self.dims * math.log(BINS)
        return nats / (self.dims * math.log(2.0))

    def loss(self, x: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        bpd = self.nll_bpd(x)
        return {"loss": bpd.mean()}

    def phases(self) -> list[Phase]:
        return [Phase("flow", self.flow, self.loss, lr=self.lr)]

    def export_module(self) -> nn.Module:
        return FlowToUint8(deep_copy_frozen(self.flow).eval().freeze_for_export())

    @torch.no_grad()
    def test_nll(self, data: torch.Tensor, batch_size: int = 500) -> float:
        was_training = self.training
        self.eval()
        gen = torch.Generator().manual_seed(1234)  # fixed dequantization noise: a reproducible number
        device = next(self.parameters()).device
        total = 0.0
        for i in range(0, len(data), batch_size):
            x = data[i : i + batch_size]
            noise = torch.rand(x.shape, generator=gen)
            total += float(self.nll_bpd(x.to(device), noise.to(device)).sum())
        self.train(was_training)
        return total / len(data)

    @torch.no_grad()
    def likelihood_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        bpd = self.test_nll(data["test_tensor"])
        return {"nll_bpd": bpd, "nll_nats": bpd * self.dims * math.log(2.0),
                "likelihood_kind": "exact for the uniformly dequantized model (an upper bound on the discrete NLL)"}

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        if self.eval_data is None:
            return {}
        return {"nll_bpd": self.test_nll(self.eval_data[:2000])}

    @torch.no_grad()
    def write_preview(self, path: Path, step: int) -> None:
        if self.preview_fn is not None:
            self.preview_fn(self.export_module(), self.dims, path)
