"""In-graph image heads: the training scale [-1, 1] -> served uint8 [N, H, W, C], and 8-bit pixels for a flow."""

from __future__ import annotations

import math

import torch
from torch import nn

BINS = 256  # 8-bit pixels


class ToUint8Image(nn.Module):
    """Wraps a network that outputs [N, C, H, W] in [-1, 1] so the ONNX graph returns uint8 NHWC."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(z)  # (N, C, H, W) in [-1, 1]
        x = ((x + 1.0) * 127.5).round().clamp(0.0, 255.0)
        return x.permute(0, 2, 3, 1).to(torch.uint8)  # (N, H, W, C)


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

    def unstable_draws(self, z: torch.Tensor) -> torch.Tensor:
        """Draws [N] (bool) whose sample float rounding can change: the export's parity check skips them."""
        return self.flow.guarded_draws(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.flow.from_noise(z)  # (N, C, H, W) in about [-1/2, 1/2)
        pixels = torch.floor((x + 0.5) * BINS).clamp(0.0, BINS - 1.0)
        return pixels.permute(0, 2, 3, 1).to(torch.uint8)  # (N, H, W, C)


class PixelDequantization:
    """8-bit pixels [N, C, H, W]: cells of side 1/256, so the log-volume per dimension is -log 256."""

    unit = "bits/dim"

    def __init__(self, shape: tuple[int, int, int]):
        self._shape = tuple(shape)  # (C, H, W)
        self.dims = int(math.prod(shape))
        self.units = self.dims
        self.cell_log_volume = -self.dims * math.log(BINS)

    def shape(self) -> tuple[int, ...]:
        return self._shape

    def dequantize(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return dequantize(x, noise)

    def noise_like(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return torch.rand(x.shape, generator=gen)

    def head(self, flow: nn.Module) -> nn.Module:
        return FlowToUint8(flow)
