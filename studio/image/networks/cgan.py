"""A GAN that steers, for 28x28 images: the generator reads a class and the visible part of a picture, the
discriminator judges the finished picture with its mask and scores the class by projection (Miyato & Koyama
2018). Images are in the training scale [-1, 1]; masks are 1 where a pixel is given; label -1 is any class.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _given_parts(z: torch.Tensor, label: torch.Tensor | None, given: torch.Tensor | None,
                 image: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nothing given where the caller passed nothing: label -1, an all-hidden mask. (The batch size is read
    only then: reading it as a Python int would fix the exported graph's batch size.)"""
    n = z.shape[0]
    if label is None:
        label = torch.full((n,), -1, dtype=torch.int64)
    if given is None or image is None:
        given = image = torch.zeros(n, 1, 28, 28)
    return label, given, image


class Generator(nn.Module):
    """(z [N, z_dim], label [N], given [N, 1, 28, 28], image [N, 1, 28, 28]) -> picture [N, 1, 28, 28] in
    [-1, 1], with the given pixels copied through. The class joins the noise; the visible pixels reach every
    scale through a small convolutional encoder (no normalisation: its input is often all zeros)."""

    def __init__(self, z_dim: int, width: int, classes: int):
        super().__init__()
        c4, c2, c1 = 4 * width, 2 * width, width
        self.c4 = c4
        self.embed = nn.Embedding(classes + 1, z_dim)  # row 0: any class
        self.project = nn.Sequential(nn.Linear(2 * z_dim, c4 * 49, bias=False), nn.BatchNorm1d(c4 * 49), nn.ReLU())
        self.see28 = nn.Sequential(nn.Conv2d(2, c1, 3, padding=1), nn.ReLU())  # (N, c1, 28, 28)
        self.see14 = nn.Sequential(nn.Conv2d(c1, c1, 4, stride=2, padding=1), nn.ReLU())  # (N, c1, 14, 14)
        self.see7 = nn.Sequential(nn.Conv2d(c1, c1, 4, stride=2, padding=1), nn.ReLU())  # (N, c1, 7, 7)
        self.at7 = nn.Sequential(nn.Conv2d(c4 + c1, c4, 3, padding=1, bias=False), nn.BatchNorm2d(c4), nn.ReLU())
        self.at14 = nn.Sequential(nn.Conv2d(c4 + c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU())
        self.at28 = nn.Sequential(nn.Conv2d(c2 + c1, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
                                  nn.Conv2d(c1, 1, 3, padding=1), nn.Tanh())
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None, given: torch.Tensor | None = None,
                image: torch.Tensor | None = None) -> torch.Tensor:
        label, given, image = _given_parts(z, label, given, image)
        s28 = self.see28(torch.cat([image * given, given], 1))
        s14 = self.see14(s28)
        s7 = self.see7(s14)
        h = self.project(torch.cat([z, self.embed(label + 1)], 1)).view(-1, self.c4, 7, 7)  # (N, c4, 7, 7)
        h = self.at7(torch.cat([h, s7], 1))
        h = self.at14(torch.cat([self.up(h), s14], 1))  # (N, c2, 14, 14)
        drawn = self.at28(torch.cat([self.up(h), s28], 1))  # (N, 1, 28, 28)
        return given * image + (1 - given) * drawn


class Discriminator(nn.Module):
    """(picture [N, 1, 28, 28], given [N, 1, 28, 28], label [N]) -> score [N]: spectral norm on every layer,
    plus the projection <embed(label), features> where a class is given."""

    def __init__(self, width: int, classes: int):
        super().__init__()
        c1, c2, c4 = width, 2 * width, 4 * width
        act = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        self.body = nn.Sequential(
            spectral_norm(nn.Conv2d(2, c1, 3, padding=1)), act(),
            spectral_norm(nn.Conv2d(c1, c2, 4, stride=2, padding=1)), act(),  # (N, c2, 14, 14)
            spectral_norm(nn.Conv2d(c2, c2, 3, padding=1)), act(),
            spectral_norm(nn.Conv2d(c2, c4, 4, stride=2, padding=1)), act(),  # (N, c4, 7, 7)
        )
        self.head = spectral_norm(nn.Linear(c4 * 49, 1))
        self.embed = spectral_norm(nn.Embedding(classes, c4 * 49))

    def forward(self, x: torch.Tensor, given: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        h = self.body(torch.cat([x, given], 1)).flatten(1)  # (N, c4 * 49)
        known = (label >= 0).to(h.dtype)  # (N,)
        projection = (self.embed(label.clamp(min=0)) * h).sum(1) * known
        return self.head(h).squeeze(1) + projection
