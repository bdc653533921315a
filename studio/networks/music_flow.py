"""Token grids for a flow: BinaryCharDequantization generalised from lines [N, T] to grids [N, T, voices].

Each token is written in ``bits`` binary digits (6 for the 48 music tokens), dequantized on a unit
cell (digit + U[0, 1) - 1/2), and laid out as a small image (bits, T, voices): time down the rows,
the four voices across, so Glow's 3x3 convolutions see a voice's neighbours in time and the chord
around it. Ids the digits can spell past the vocabulary (48..63) become ``pad`` (a rest).
"""

from __future__ import annotations

import torch
from torch import nn

from studio.families.flow import BinaryCharDequantization


class GridTokens(nn.Module):
    """Export head: eps [N, D] -> int64 grid [N, T, voices], through a flat-ids head [N, T * voices]."""

    def __init__(self, flat_head: nn.Module, steps: int, voices: int):
        super().__init__()
        self.flat_head, self.steps, self.voices = flat_head, steps, voices

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.flat_head(z).view(-1, self.steps, self.voices)


class BinaryGridDequantization(BinaryCharDequantization):
    """Grids [N, T, voices] of ids < vocab, as (bits, T, voices) digit images; likelihoods per token."""

    unit = "token"

    def __init__(self, vocab: int, steps: int, voices: int, pad: int):
        super().__init__(vocab, steps * voices, grid=(steps, voices), pad=pad)
        self.steps, self.voices = steps, voices

    def digits(self, ids: torch.Tensor) -> torch.Tensor:
        """grid [N, T, voices] -> binary digits [N, bits, T * voices] (row-major: step, then voice)."""
        return super().digits(ids.flatten(1))

    def noise_like(self, ids: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return super().noise_like(ids.flatten(1), gen)

    def head(self, flow: nn.Module) -> nn.Module:
        return GridTokens(super().head(flow), self.steps, self.voices)
