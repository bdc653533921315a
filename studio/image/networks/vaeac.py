"""A VAE with arbitrary conditioning (VAEAC, Ivanov et al. 2019) for 28x28 images, with a class label too.

Three networks:
- the condition network reads what is given (a class or "any"; the visible pixels and where they are) and
  gives the prior p(z | given) and skip features at 28, 14 and 7 pixels for the decoder;
- the proposal network reads the whole image as well (training only) and gives q(z | image, given);
- the decoder turns z and the skip features into a discretised-logistic distribution per pixel.
Training maximises the bound on log p(hidden pixels | given), so the visible pixels are never explained,
only used. Images are in the training scale [-1, 1], masks are 1 where a pixel is given.
"""

from __future__ import annotations

import torch
from torch import nn


def _body(in_channels: int, width: int) -> nn.ModuleList:
    c1, c2 = width, 2 * width
    return nn.ModuleList([
        nn.Sequential(nn.Conv2d(in_channels, c1, 3, padding=1), nn.SiLU()),  # (N, c1, 28, 28)
        nn.Sequential(nn.Conv2d(c1, c1, 4, stride=2, padding=1), nn.SiLU(),
                      nn.Conv2d(c1, c2, 3, padding=1), nn.SiLU()),  # (N, c2, 14, 14)
        nn.Sequential(nn.Conv2d(c2, c2, 4, stride=2, padding=1), nn.SiLU()),  # (N, c2, 7, 7)
    ])


class Gaussian(nn.Module):
    """Features [N, c2, 7, 7] and a label embedding [N, e] -> (mean, log-variance) each [N, z_dim]."""

    def __init__(self, width: int, embed: int, z_dim: int):
        super().__init__()
        self.head = nn.Linear(2 * width * 49 + embed, 2 * z_dim)

    def forward(self, h7: torch.Tensor, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.head(torch.cat([h7.flatten(1), e], 1)).chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 8.0)


class ConditionNet(nn.Module):
    """(label [N] with -1 = any, given [N, 1, 28, 28] in {0, 1}, image [N, 1, 28, 28]) -> prior (mean, logvar)
    [N, z_dim] each, and skip features (28, 14 and 7 pixels). Only the given pixels of ``image`` are read."""

    def __init__(self, z_dim: int, width: int, classes: int):
        super().__init__()
        self.embed = nn.Embedding(classes + 1, 2 * width)  # row 0: any class
        self.body = _body(2, width)
        self.gaussian = Gaussian(width, 2 * width, z_dim)

    def forward(self, label: torch.Tensor, given: torch.Tensor, image: torch.Tensor):  # noqa: ANN201
        e = self.embed(label + 1)  # (N, 2w)
        h = torch.cat([image * given, given], 1)  # (N, 2, 28, 28)
        skips = []
        for i, stage in enumerate(self.body):
            h = stage(h)
            if i == len(self.body) - 1:
                h = h + e[:, :, None, None]  # the class reaches every 7x7 cell
            skips.append(h)
        mean, logvar = self.gaussian(h, e)
        return mean, logvar, skips


class ProposalNet(nn.Module):
    """(image, given, label) -> q(z | image, given) as (mean, logvar) [N, z_dim] each: training only."""

    def __init__(self, z_dim: int, width: int, classes: int):
        super().__init__()
        self.embed = nn.Embedding(classes + 1, 2 * width)
        self.body = nn.Sequential(*_body(2, width))
        self.gaussian = Gaussian(width, 2 * width, z_dim)

    def forward(self, image: torch.Tensor, given: torch.Tensor, label: torch.Tensor):  # noqa: ANN201
        return self.gaussian(self.body(torch.cat([image, given], 1)), self.embed(label + 1))


class Decoder(nn.Module):
    """(z [N, z_dim], skips) -> per-pixel logistic (mean in [-1, 1], log-scale), each [N, 1, 28, 28]."""

    def __init__(self, z_dim: int, width: int):
        super().__init__()
        c1, c2 = width, 2 * width
        self.c2 = c2
        self.project = nn.Sequential(nn.Linear(z_dim, c2 * 49), nn.SiLU())
        self.at7 = nn.Sequential(nn.Conv2d(2 * c2, c2, 3, padding=1), nn.SiLU())
        self.at14 = nn.Sequential(nn.Conv2d(2 * c2, c2, 3, padding=1), nn.SiLU())
        self.at28 = nn.Sequential(nn.Conv2d(c2 + c1, c1, 3, padding=1), nn.SiLU(), nn.Conv2d(c1, 2, 3, padding=1))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, z: torch.Tensor, skips: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        s28, s14, s7 = skips
        h = self.at7(torch.cat([self.project(z).view(-1, self.c2, 7, 7), s7], 1))  # (N, c2, 7, 7)
        h = self.at14(torch.cat([self.up(h), s14], 1))  # (N, c2, 14, 14)
        h = self.at28(torch.cat([self.up(h), s28], 1))  # (N, 2, 28, 28)
        mean, log_scale = h.chunk(2, dim=1)
        return torch.tanh(mean), log_scale.clamp(-7.0, 2.0)
