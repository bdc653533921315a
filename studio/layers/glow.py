"""A multi-scale Glow-style flow (Kingma & Dhariwal 2018; Dinh et al. 2017) for small images.

Each level squeezes space into channels, runs ``steps`` of (ActNorm, invertible 1x1 conv,
affine coupling), then factors out half the channels under a learned conditional Gaussian.
``to_noise`` maps an image to standard-normal noise ``eps`` with log|det d eps / dx|;
``from_noise`` is its exact inverse, which is what gets exported.

With ``logit_alpha`` the first layer is Real NVP's logit preprocessing (Dinh et al. 2017, section 4.1):
pixel values in [-1/2, 1/2) are squashed into [alpha, 1 - alpha] and mapped through the logit. That
stretches the two ends of the range, where most Fashion-MNIST pixels are (a black background, white
highlights): their cells become wide, so the density the couplings must fit there is far less peaked.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, 4C, H/2, W/2)."""
    n, c, h, w = x.shape
    x = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * 4, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """(N, 4C, H, W) -> (N, C, 2H, 2W); the inverse of squeeze."""
    n, c4, h, w = x.shape
    c = c4 // 4
    x = x.view(n, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c, h * 2, w * 2)


#: the sampler's bound on values between flow steps: 70 times the largest a training image reaches
INVERSE_GUARD = 1000.0


class ZeroConv(nn.Conv2d):
    """A 3x3 conv that starts at zero, so every coupling starts as the identity."""

    def __init__(self, cin: int, cout: int):
        super().__init__(cin, cout, 3, padding=1)
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)


class ActNorm(nn.Module):
    """Per-channel affine map, initialised from the first batch to zero mean, unit variance."""

    def __init__(self, channels: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))

    @torch.no_grad()
    def _init(self, x: torch.Tensor) -> None:
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = x.std(dim=(0, 2, 3), keepdim=True)
        self.loc.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.initialized.fill_(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and not bool(self.initialized):
            self._init(x)
        h, w = x.shape[2], x.shape[3]
        return (x + self.loc) * torch.exp(self.log_scale), h * w * self.log_scale.sum().expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(-self.log_scale) - self.loc


class InvConv1x1(nn.Module):
    """An invertible channel mixing (a learned rotation-like 1x1 conv)."""

    def __init__(self, channels: int):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels))
        self.weight = nn.Parameter(q)
        # Frozen for export (ONNX has no matrix inverse); a buffer so .to(device) moves it, not saved.
        self.register_buffer("weight_inverse", None, persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.weight.shape[0]
        logdet = x.shape[2] * x.shape[3] * torch.linalg.slogdet(self.weight)[1]
        return F.conv2d(x, self.weight.view(c, c, 1, 1)), logdet.expand(x.shape[0])

    def freeze_inverse(self) -> None:
        self.weight_inverse = torch.linalg.inv(self.weight.detach().double()).float()

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        c = self.weight.shape[0]
        w_inv = self.weight_inverse if self.weight_inverse is not None else torch.linalg.inv(self.weight)
        return F.conv2d(y, w_inv.view(c, c, 1, 1))


class AffineCoupling(nn.Module):
    """Half the channels predict a shift and a (sigmoid-bounded) scale for the other half."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        half = channels // 2
        self.net = nn.Sequential(
            nn.Conv2d(half, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
            ZeroConv(hidden, 2 * (channels - half)),
        )

    def _shift_scale(self, xa: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(xa)
        shift, raw = h[:, 0::2], h[:, 1::2]
        return shift, torch.sigmoid(raw + 2.0)  # scale in (0, 1), near 0.88 at init: stable (Glow)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xa, xb = x.chunk(2, dim=1)
        shift, scale = self._shift_scale(xa)
        return torch.cat([xa, (xb + shift) * scale], dim=1), torch.log(scale).flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        ya, yb = y.chunk(2, dim=1)
        shift, scale = self._shift_scale(ya)
        # A scale that float32 rounds to 0 would divide by zero; any scale this small overflows the guard anyway.
        return torch.cat([ya, yb / scale.clamp_min(1e-30) - shift], dim=1)


class FlowStep(nn.Module):
    """ActNorm, an invertible 1x1 conv, then a coupling (``coupling``: the affine one by default)."""

    def __init__(self, channels: int, hidden: int, coupling: nn.Module | None = None):
        super().__init__()
        self.layers = nn.ModuleList([ActNorm(channels), InvConv1x1(channels),
                                     coupling if coupling is not None else AffineCoupling(channels, hidden)])

    def forward(self, x: torch.Tensor, c: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``c``: what a conditional coupling reads (None for the plain one)."""
        norm, mix, coupling = self.layers
        x, ld_norm = norm(x)
        x, ld_mix = mix(x)
        x, ld_coupling = coupling(x) if c is None else coupling(x, c)
        return x, ld_norm + ld_mix + ld_coupling

    def inverse(self, y: torch.Tensor, c: Any = None) -> torch.Tensor:
        norm, mix, coupling = self.layers
        y = coupling.inverse(y) if c is None else coupling.inverse(y, c)
        return norm.inverse(mix.inverse(y))


class LogitPreprocess(nn.Module):
    """x in [-1/2, 1/2) -> logit(alpha + (1 - 2 alpha)(x + 1/2)), with its exact log-determinant."""

    def __init__(self, alpha: float):
        super().__init__()
        if not 0.0 < alpha < 0.5:
            raise ValueError(f"logit_alpha must lie in (0, 0.5), not {alpha}")
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.alpha + (1 - 2 * self.alpha) * (x + 0.5)  # (N, C, H, W) in [alpha, 1 - alpha]
        q = self.alpha + (1 - 2 * self.alpha) * (0.5 - x)  # 1 - p, without float32's rounding near 1
        y = torch.log(p) - torch.log(q)
        # dy/dx = (1 - 2 alpha) / (p (1 - p)), one factor per dimension
        logdet = (math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log(q)).flatten(1).sum(1)
        return y, logdet

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return (torch.sigmoid(y) - self.alpha) / (1 - 2 * self.alpha) - 0.5


class Glow(nn.Module):
    """image-shaped x [N, C, H, W] <-> standard-normal noise eps [N, C*H*W]."""

    def __init__(self, in_shape: tuple[int, int, int] = (1, 28, 28), levels: int = 2, steps: int = 8,
                 hidden: int = 64, logit_alpha: float = 0.0):
        super().__init__()
        c, h, w = in_shape
        self.in_shape = in_shape
        self.preprocess = LogitPreprocess(logit_alpha) if logit_alpha else None
        self.levels = nn.ModuleList()
        self.priors = nn.ModuleList()  # learned conditional Gaussian for each factored-out half
        self.split_shapes: list[tuple[int, int, int]] = []
        for level in range(levels):
            c, h, w = c * 4, h // 2, w // 2
            self.levels.append(nn.ModuleList([FlowStep(c, hidden, self.coupling(c, hidden, level))
                                              for _ in range(steps)]))
            last = level == levels - 1
            kept = c if last else c // 2
            out = c if last else c - kept
            self.priors.append(self.level_prior(level, kept, out, (c, h, w), last))
            self.split_shapes.append((out, h, w))
            c = kept
        self.dims = int(math.prod(in_shape))

    def coupling(self, channels: int, hidden: int, level: int) -> nn.Module | None:
        """A flow step's coupling at ``level``; None: the plain affine coupling."""
        return None

    def level_prior(self, level: int, kept: int, out: int, shape: tuple[int, int, int], last: bool) -> nn.Module:
        """The Gaussian of the level's factored-out part (``out`` channels) given the ``kept`` ones; the last
        level's, over its whole ``shape``, is conditioned on nothing: a learned per-position Gaussian."""
        return _StaticPrior(shape) if last else ZeroConv(kept, 2 * out)

    def to_noise(self, x: torch.Tensor, cond: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x [N, C, H, W] -> (eps [N, D], log|det d eps/dx| [N]); ``cond`` is what a conditional flow reads."""
        logdet = torch.zeros(x.shape[0], device=x.device)
        eps_parts = []
        h = x
        if self.preprocess is not None:
            h, logdet = self.preprocess(x)
        for level, (steps, c) in enumerate(zip(self.levels, self.level_conditions(cond, x.shape[0]))):
            h = squeeze(h)
            for step in steps:
                h, ld = step(h, c)
                logdet = logdet + ld
            if level < len(self.levels) - 1:
                h, z = h.chunk(2, dim=1)  # keep h, factor out z
            else:
                z = h
            mean, log_std = self.prior(level, h, c)
            eps = (z - mean) * torch.exp(-log_std)
            logdet = logdet - log_std.flatten(1).sum(1)
            eps_parts.append(eps.flatten(1))
        return torch.cat(eps_parts, dim=1), logdet

    def level_conditions(self, cond: Any, n: int) -> list[Any]:
        """What each level's steps and prior read: nothing, for the plain flow."""
        return [None] * len(self.levels)

    def prior(self, level: int, h: torch.Tensor, c: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log_std) of the level's factored-out part, given the kept part ``h`` (the last level: its input)."""
        if level < len(self.levels) - 1:
            return self.priors[level](h).chunk(2, dim=1)
        return self.priors[level](h)

    def log_prob(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """log density of x [N, C, H, W] in nats [N]."""
        eps, logdet = self.to_noise(x, cond)
        return -0.5 * (eps.pow(2) + math.log(2 * math.pi)).sum(1) + logdet

    @torch.no_grad()
    def guarded_draws(self, eps: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """Which draws of eps [N, D] reach the sampler's guard [N] (bool): their samples are ill-conditioned,
        so float rounding (PyTorch's against ONNX Runtime's) can change them anywhere."""
        return self._invert(eps, cond, watch=True)[1]

    def from_noise(self, eps: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """eps [N, D] -> x [N, C, H, W]; the exact inverse of to_noise wherever it stays inside the guard.

        Between steps the inverse is clamped to +-INVERSE_GUARD. Training images never leave +-14 (the
        logit layer's range), but a coupling's scale can be tiny (5e-6 on the background), so noise the
        data never produce can be blown up past float32's range, and then inf - inf is NaN. The guard
        keeps such a draw finite; it changes no draw whose values stay inside it.
        """
        return self._invert(eps, cond, watch=False)[0]

    def _invert(self, eps: torch.Tensor, cond: Any, watch: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(x [N, C, H, W], with ``watch`` which draws reached the guard [N] bool, else None)."""
        sizes = [int(math.prod(s)) for s in self.split_shapes]
        parts = list(torch.split(eps, sizes, dim=1))
        guarded = torch.zeros(eps.shape[0], dtype=torch.bool, device=eps.device) if watch else None
        h = None
        conditions = self.level_conditions(cond, eps.shape[0])
        for level in reversed(range(len(self.levels))):
            shape, c = self.split_shapes[level], conditions[level]
            e = parts[level].reshape(-1, *shape)
            if level == len(self.levels) - 1:
                mean, log_std = self.prior(level, e, c)
                h = mean + e * torch.exp(log_std)
            else:
                mean, log_std = self.prior(level, h, c)
                h = torch.cat([h, mean + e * torch.exp(log_std)], dim=1)
            for step in reversed(self.levels[level]):
                h = step.inverse(h, c).clamp(-INVERSE_GUARD, INVERSE_GUARD)
                if watch:
                    guarded = guarded | (h.flatten(1).abs().amax(1) >= INVERSE_GUARD)
            h = unsqueeze(h)
        return (h if self.preprocess is None else self.preprocess.inverse(h)), guarded

    def freeze_for_export(self) -> Glow:
        for m in self.modules():
            if isinstance(m, InvConv1x1):
                m.freeze_inverse()
        return self


class _StaticPrior(nn.Module):
    """The top level's learned Gaussian: a mean and log-std per position, zero at init."""

    def __init__(self, shape: tuple[int, int, int]):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(1, *shape))
        self.log_std = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = like.shape[0]
        return self.mean.expand(n, -1, -1, -1), self.log_std.expand(n, -1, -1, -1)
