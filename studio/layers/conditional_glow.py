"""A Glow that steers: every coupling and every prior also reads a class and a visible region.

The condition is (label [N] with -1 for any class, given [N, C, H, W] 1 where a value is given, image
[N, C, H, W] the given values in the training scale). At each level the region (mask and masked values) is
squeezed to the level's resolution, so a coupling's network sees what is given next to what it transforms;
the class enters every network as a learned bias and sets the top prior's mean and scale (Glow's
class-conditional prior, Kingma & Dhariwal 2018).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from studio.layers.glow import Glow, ZeroConv, squeeze


class Condition(NamedTuple):
    label: torch.Tensor  # (N,) int64, -1 for any class
    given: torch.Tensor  # (N, C, H, W) float, 1 where the value is given
    image: torch.Tensor  # (N, C, H, W) the given values (anything where not given)


class LevelCondition(NamedTuple):
    label: torch.Tensor  # (N,) int64 in [0, classes]: ``classes`` stands for any class
    region: torch.Tensor  # (N, 2 * C * 4**(level + 1), H', W'): the squeezed mask and masked values


class ConditionalCoupling(nn.Module):
    """The affine coupling, whose network also reads the level's region and the class."""

    def __init__(self, channels: int, hidden: int, region_channels: int, classes: int):
        super().__init__()
        half = channels // 2
        self.from_half = nn.Conv2d(half, hidden, 3, padding=1)
        self.from_region = nn.Conv2d(region_channels, hidden, 3, padding=1, bias=False)
        self.from_class = nn.Embedding(classes + 1, hidden)
        nn.init.zeros_(self.from_class.weight)
        self.rest = nn.Sequential(nn.ReLU(), nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                  ZeroConv(hidden, 2 * (channels - half)))

    def _shift_scale(self, xa: torch.Tensor, c: LevelCondition) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.from_half(xa) + self.from_region(c.region) + self.from_class(c.label)[:, :, None, None]
        h = self.rest(h)  # (N, 2 * (channels - half), H, W)
        return h[:, 0::2], torch.sigmoid(h[:, 1::2] + 2.0)

    def forward(self, x: torch.Tensor, c: LevelCondition) -> tuple[torch.Tensor, torch.Tensor]:
        xa, xb = x.chunk(2, dim=1)
        shift, scale = self._shift_scale(xa, c)
        return torch.cat([xa, (xb + shift) * scale], dim=1), torch.log(scale).flatten(1).sum(1)

    def inverse(self, y: torch.Tensor, c: LevelCondition) -> torch.Tensor:
        ya, yb = y.chunk(2, dim=1)
        shift, scale = self._shift_scale(ya, c)
        return torch.cat([ya, yb / scale.clamp_min(1e-30) - shift], dim=1)


class ConditionalSplitPrior(nn.Module):
    """The factored-out half's Gaussian, from the kept half, the region and the class."""

    def __init__(self, kept: int, out: int, region_channels: int, classes: int):
        super().__init__()
        self.net = ZeroConv(kept + region_channels, 2 * out)
        self.from_class = nn.Embedding(classes + 1, 2 * out)
        nn.init.zeros_(self.from_class.weight)

    def forward(self, h: torch.Tensor, c: LevelCondition) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(torch.cat([h, c.region], 1)) + self.from_class(c.label)[:, :, None, None]
        return out.chunk(2, dim=1)


class ConditionalTopPrior(nn.Module):
    """The last level's Gaussian: a mean and log-std per position for each class (and for any), moved by the
    region."""

    def __init__(self, shape: tuple[int, int, int], region_channels: int, classes: int):
        super().__init__()
        self.shape = shape
        self.per_class = nn.Embedding(classes + 1, 2 * shape[0] * shape[1] * shape[2])
        nn.init.zeros_(self.per_class.weight)
        self.from_region = ZeroConv(region_channels, 2 * shape[0])

    def forward(self, like: torch.Tensor, c: LevelCondition) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.per_class(c.label).view(-1, 2 * self.shape[0], *self.shape[1:]) + self.from_region(c.region)
        return out.chunk(2, dim=1)


class ConditionalGlow(Glow):
    """image-shaped x [N, C, H, W] <-> noise eps [N, C*H*W], given a ``Condition``."""

    def __init__(self, in_shape: tuple[int, int, int] = (1, 28, 28), levels: int = 2, steps: int = 8,
                 hidden: int = 64, logit_alpha: float = 0.0, classes: int = 10):
        self.classes = classes  # read by the construction hooks, which Glow's constructor calls
        super().__init__(in_shape, levels=levels, steps=steps, hidden=hidden, logit_alpha=logit_alpha)

    def region_channels(self, level: int) -> int:
        """The squeezed region's channels at ``level``: mask and masked values, 4x per squeeze."""
        return 2 * self.in_shape[0] * 4 ** (level + 1)

    def coupling(self, channels: int, hidden: int, level: int) -> nn.Module:
        return ConditionalCoupling(channels, hidden, self.region_channels(level), self.classes)

    def level_prior(self, level: int, kept: int, out: int, shape: tuple[int, int, int], last: bool) -> nn.Module:
        region = self.region_channels(level)
        return ConditionalTopPrior(shape, region, self.classes) if last else \
            ConditionalSplitPrior(kept, out, region, self.classes)

    def level_conditions(self, cond: Condition | None, n: int) -> list[LevelCondition]:
        if cond is None:
            raise ValueError("a conditional flow needs a Condition (label -1 and an all-zero mask: nothing given)")
        label = torch.where(cond.label < 0, torch.full_like(cond.label, self.classes), cond.label)  # (N,)
        region = torch.cat([cond.given, cond.image * cond.given], 1)  # (N, 2C, H, W)
        levels = []
        for _ in self.levels:
            region = squeeze(region)
            levels.append(LevelCondition(label, region))
        return levels

    def prior(self, level: int, h: torch.Tensor, c: LevelCondition) -> tuple[torch.Tensor, torch.Tensor]:
        return self.priors[level](h, c)
