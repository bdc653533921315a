"""DCGAN-style generator and spectrally normalised discriminator for 28x28 images."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class Generator(nn.Module):
    """z [N, z_dim] -> image [N, C, 28, 28] in [-1, 1].

    Upsampling is nearest-neighbour x2 followed by a 3x3 conv (no checkerboard artefacts, and
    plain convolutions run fast in ONNX Runtime).
    """

    def __init__(self, z_dim: int = 64, width: int = 64, channels: int = 1):
        super().__init__()
        self.z_dim, self.width = z_dim, width
        c4, c2, c1 = 4 * width, 2 * width, width
        self.project = nn.Sequential(nn.Linear(z_dim, c4 * 7 * 7, bias=False), nn.BatchNorm1d(c4 * 7 * 7), nn.ReLU())
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),  # (N, c4, 14, 14)
            nn.Conv2d(c4, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),  # (N, c2, 28, 28)
            nn.Conv2d(c2, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.Conv2d(c1, channels, 3, padding=1), nn.Tanh(),  # (N, C, 28, 28)
        )
        self.c4 = c4

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(-1, self.c4, 7, 7)  # (N, c4, 7, 7)
        return self.body(x)


class Discriminator(nn.Module):
    """image [N, C, 28, 28] -> score [N]; spectral norm on every layer (Miyato et al. 2018)."""

    def __init__(self, width: int = 64, channels: int = 1):
        super().__init__()
        c1, c2, c4 = width, 2 * width, 4 * width
        act = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        self.body = nn.Sequential(
            spectral_norm(nn.Conv2d(channels, c1, 3, padding=1)), act(),
            spectral_norm(nn.Conv2d(c1, c2, 4, stride=2, padding=1)), act(),  # (N, c2, 14, 14)
            spectral_norm(nn.Conv2d(c2, c2, 3, padding=1)), act(),
            spectral_norm(nn.Conv2d(c2, c4, 4, stride=2, padding=1)), act(),  # (N, c4, 7, 7)
        )
        self.head = spectral_norm(nn.Linear(c4 * 7 * 7, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1)).squeeze(1)  # (N,)
