"""The music flow: ``studio.layers.token_flow.TokenFlow`` over a fragment's 256 tokens, one dimension each.

A grid [N, 64 steps, 4 voices] is read step by step, soprano to bass within a step (the Transformer's
order), so each voice's token is conditioned on every earlier step and on the voices above it at the
same step. Every token (rest, hold or one of the 46 pitches) gets a cell of volume 1, so the bits/token
is the NLL of the music itself, and a near miss is never a pitch read off a height: the flow picks among
scale degrees as the data does. Noise scaled by T samples at temperature T.
"""

from __future__ import annotations

import torch
from torch import nn

from studio.layers.token_flow import TokenDequantization, TokenFlow


class GridFromTokens(nn.Module):
    """Export head: eps [N, T*V] -> int64 grid [N, T, V] (the flow's tokens, step by step)."""

    unrolled = True  # a loop of T*V steps: exported by tracing (see studio.onnx.export)

    def __init__(self, flow: TokenFlow, steps: int, voices: int):
        super().__init__()
        self.flow, self.steps, self.voices = flow, steps, voices

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.flow.sample_ids(z).view(-1, self.steps, self.voices)  # (N, T, V)


class GridTokenDequantization(TokenDequantization):
    """Grids [N, T, V] -> x = token + U[0, 1) [N, T*V]; likelihoods in bits/token."""

    def __init__(self, steps: int, voices: int):
        super().__init__(steps * voices, unit="bits/token")
        self.steps, self.voices = steps, voices

    def head(self, flow: nn.Module) -> nn.Module:
        return GridFromTokens(flow, self.steps, self.voices)
