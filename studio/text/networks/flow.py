"""The text flow: ``studio.layers.token_flow.TokenFlow`` over a line's characters, one dimension each.

Its bits/char is the NLL of the text itself (cells of volume 1), and noise scaled by T samples at
temperature T (zero noise: the most likely line).
"""

from __future__ import annotations

import torch
from torch import nn

from studio.layers.token_flow import TokenDequantization, TokenFlow


class CharFlowHead(nn.Module):
    """Export head: eps [N, T] -> character ids [N, T]."""

    unrolled = True  # a loop of T steps: exported by tracing (see studio.onnx.export)

    def __init__(self, flow: TokenFlow):
        super().__init__()
        self.flow = flow

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.flow.sample_ids(z)


class CharDequantization(TokenDequantization):
    """Characters [N, T] -> x = id + U[0, 1) [N, T]; likelihoods in bits/char."""

    def __init__(self, length: int):
        super().__init__(length, unit="bits/char")

    def head(self, flow: nn.Module) -> nn.Module:
        return CharFlowHead(flow)
