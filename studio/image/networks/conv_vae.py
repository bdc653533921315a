"""Convolutional VAE for 28x28 images with a discretised-logistic pixel likelihood."""

from __future__ import annotations

import torch
from torch import nn


class Encoder(nn.Module):
    """image [N, C, 28, 28] in [-1, 1] -> (mean, log-variance) each [N, z_dim]."""

    def __init__(self, z_dim: int = 32, width: int = 32, channels: int = 1):
        super().__init__()
        c1, c2 = width, 2 * width
        self.body = nn.Sequential(
            nn.Conv2d(channels, c1, 3, padding=1), nn.SiLU(),
            nn.Conv2d(c1, c1, 4, stride=2, padding=1), nn.SiLU(),  # (N, c1, 14, 14)
            nn.Conv2d(c1, c2, 3, padding=1), nn.SiLU(),
            nn.Conv2d(c2, c2, 4, stride=2, padding=1), nn.SiLU(),  # (N, c2, 7, 7)
        )
        self.head = nn.Linear(c2 * 7 * 7, 2 * z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.head(self.body(x).flatten(1)).chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 8.0)


class Decoder(nn.Module):
    """z [N, z_dim] -> per-pixel logistic (mean, log-scale), each [N, C, 28, 28]."""

    def __init__(self, z_dim: int = 32, width: int = 32, channels: int = 1):
        super().__init__()
        c2, c1 = 2 * width, width
        self.c2 = c2
        self.project = nn.Sequential(nn.Linear(z_dim, c2 * 7 * 7), nn.SiLU())
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c2, c2, 3, padding=1), nn.SiLU(),  # (N, c2, 14, 14)
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c2, c1, 3, padding=1), nn.SiLU(),  # (N, c1, 28, 28)
            nn.Conv2d(c1, 2 * channels, 3, padding=1),
        )

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(self.project(z).view(-1, self.c2, 7, 7))
        mean, log_scale = h.chunk(2, dim=1)
        return torch.tanh(mean), log_scale.clamp(-7.0, 2.0)


class DecoderMean(nn.Module):
    """The exported generator: z -> the decoder's mean image in [-1, 1]."""

    def __init__(self, decoder: Decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)[0]
