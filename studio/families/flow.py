"""Normalizing-flow process: exact maximum likelihood on uniformly dequantized discrete data.

Images: pixels k in {0..255} become x = (k + u) / 256 - 1/2 with u ~ U[0, 1).
Text: each character id is written in 7 binary digits b, which become x = b + u - 1/2, laid out
as a small image (bits x rows x columns) so the Glow network reads it.
Either way the flow's density of x is exact; -log p(x) plus the log-volume of a cell is the exact
NLL of that continuous (dequantized) model, and an upper bound on the NLL of the discrete data
(Theis et al. 2016). The exported generator is the inverse: standard-normal noise -> sample;
scaling the noise by T samples at temperature T.
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


class PixelDequantization:
    """8-bit pixels: cells of side 1/256, so log-volume per dimension is -log 256; reported per dim."""

    unit = "dim"

    def __init__(self, shape: tuple[int, ...]):
        self.dims = int(math.prod(shape))
        self.units = self.dims
        self.cell_log_volume = -self.dims * math.log(BINS)

    def dequantize(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return dequantize(x, noise)

    def noise_like(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return torch.rand(x.shape, generator=gen)

    def head(self, flow: nn.Module) -> nn.Module:
        return FlowToUint8(flow)


class BinaryChars(nn.Module):
    """Export head for text: eps [N, D] -> character ids [N, T] (ids beyond the charset become ``pad``)."""

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
    """Character ids in ``bits`` binary digits, each dequantized on a unit cell: log-volume 0; reported per char."""

    unit = "char"

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


class FlowProcess(GenerativeProcess):
    family = "flow"

    def __init__(self, flow: nn.Module, *, modality: str, sample_shape: tuple[int, ...], lr: float = 1e-3,
                 eval_data: torch.Tensor | None = None, preview_fn: Any = None,
                 dequantization: PixelDequantization | BinaryCharDequantization | None = None,
                 charset: str | None = None, batch_example: Any = None):
        super().__init__()
        self.modality = modality
        self.flow = flow
        self._sample_shape = tuple(sample_shape)
        self.deq = dequantization or PixelDequantization(sample_shape)
        self.dims = self.deq.dims  # the flow's dimensions (the noise width)
        self.charset = charset
        self.batch_example = batch_example
        self.lr = lr
        self.eval_data = eval_data
        self.preview_fn = preview_fn

    @property
    def z_dim(self) -> int:
        return self.dims

    def sample_shape(self) -> tuple[int, ...]:
        return self._sample_shape

    def nll_bpd(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Per-example NLL of the dequantized model [N], in bits per unit (per pixel dim, or per character)."""
        log_p = self.flow.log_prob(self.deq.dequantize(x, noise))
        nats = -log_p - self.deq.cell_log_volume
        return nats / (self.deq.units * math.log(2.0))

    def loss(self, x: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        bpd = self.nll_bpd(x)
        return {"loss": bpd.mean()}

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
            total += float(self.nll_bpd(x.to(device), noise.to(device)).sum())
        self.train(was_training)
        return total / len(data)

    @torch.no_grad()
    def likelihood_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        bpu = self.test_nll(data["test_tensor"])
        key = "nll_bpd" if self.deq.unit == "dim" else f"nll_bits_per_{self.deq.unit}"
        return {key: bpu, "nll_nats": bpu * self.deq.units * math.log(2.0),
                "likelihood_kind": "exact for the uniformly dequantized model (an upper bound on the discrete NLL)"}

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        if self.eval_data is None:
            return {}
        return {"nll_bpd" if self.deq.unit == "dim" else f"nll_bits_per_{self.deq.unit}":
                self.test_nll(self.eval_data[:2000])}

    @torch.no_grad()
    def write_preview(self, path: Path, step: int) -> None:
        if self.preview_fn is not None:
            self.preview_fn(self.export_module(), self.dims, path)
