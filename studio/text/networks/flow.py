"""Character ids for a flow: each id written in binary digits, each digit dequantized on a unit cell."""

from __future__ import annotations

import math

import torch
from torch import nn


class BinaryChars(nn.Module):
    """Export head: eps [N, D] -> character ids [N, T] (ids beyond the charset become ``pad``)."""

    def __init__(self, flow: nn.Module, bits: int, length: int, vocab: int, pad: int):
        super().__init__()
        self.flow, self.bits, self.length, self.vocab, self.pad = flow, bits, length, vocab, pad

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.flow.from_noise(z).reshape(-1, self.bits, self.length)  # (N, bits, T)
        digits = torch.floor(x + 0.5).clamp(0.0, 1.0)
        weights = (2 ** torch.arange(self.bits, dtype=torch.float32)).view(1, -1, 1)
        ids = (digits * weights).sum(1).to(torch.int64)  # (N, T)
        return torch.where(ids < self.vocab, ids, torch.full_like(ids, self.pad))


class BinaryCharDequantization:
    """Ids [N, T] in ``bits`` binary digits laid out as [N, bits, rows, cols]; log-volume 0; per character."""

    unit = "bits/char"

    def __init__(self, vocab: int, length: int, grid: tuple[int, int], pad: int):
        self.vocab, self.length, self.grid, self.pad = vocab, length, grid, pad
        self.bits = max(1, math.ceil(math.log2(vocab)))
        if grid[0] * grid[1] != length:
            raise ValueError(f"a {grid[0]}x{grid[1]} grid does not hold {length} characters")
        self.dims = self.bits * length
        self.units = length
        self.cell_log_volume = 0.0

    def shape(self) -> tuple[int, int, int]:
        return (self.bits, *self.grid)

    def digits(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [N, T] -> binary digits [N, bits, T] (least significant first)."""
        return ((ids[:, None, :] >> torch.arange(self.bits, device=ids.device)[None, :, None]) & 1).float()

    def dequantize(self, ids: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        digits = self.digits(ids)
        noise = torch.rand_like(digits) if noise is None else noise
        return (digits + noise - 0.5).reshape(-1, *self.shape())  # (N, bits, rows, cols)

    def noise_like(self, ids: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return torch.rand((ids.shape[0], self.bits, ids.shape[1]), generator=gen)

    def head(self, flow: nn.Module) -> nn.Module:
        return BinaryChars(flow, self.bits, self.length, self.vocab, self.pad)
