"""A 1-D residual convolution block (Gulrajani et al. 2017's text GAN), shared by the sequence GANs."""

from __future__ import annotations

import torch
from torch import nn


class ResBlock1d(nn.Module):
    def __init__(self, width: int, kernel: int = 5):
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv1d(width, width, kernel, padding=kernel // 2),
                                  nn.ReLU(), nn.Conv1d(width, width, kernel, padding=kernel // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, W, T) -> (B, W, T)
        return x + 0.3 * self.body(x)  # the paper's residual scaling
