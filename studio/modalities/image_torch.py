"""The in-graph image head: training scale [-1, 1] -> served uint8 [N, H, W, C]."""

from __future__ import annotations

import torch
from torch import nn


class ToUint8Image(nn.Module):
    """Wraps a network that outputs [N, C, H, W] in [-1, 1] so the ONNX graph returns uint8 NHWC."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(z)  # (N, C, H, W) in [-1, 1]
        x = ((x + 1.0) * 127.5).round().clamp(0.0, 255.0)
        return x.permute(0, 2, 3, 1).to(torch.uint8)  # (N, H, W, C)
