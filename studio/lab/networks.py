"""Small networks for the Lab: fast enough on two CPU cores to train visibly in a minute.

2-D points: MLP generator and critic (with PacGAN packing and optional spectral norm), an MLP VAE with a
Gaussian decoder, and a RealNVP flow of affine couplings (optional ActNorm). Tiny images (28x28, flattened):
the same GAN and VAE shapes, wider.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from studio.layers.draws import normal_to_uniform


def mlp(sizes: list[int], act: type[nn.Module] = nn.ReLU, spectral: bool = False) -> nn.Sequential:
    """Linear layers of ``sizes`` with ``act`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(a, b)
        layers.append(spectral_norm(linear) if spectral else linear)
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """z [N, z_dim] -> points [N, dims] (images: tanh into [-1, 1])."""

    def __init__(self, z_dim: int, dims: int, hidden: int, depth: int = 3, squash: bool = False):
        super().__init__()
        self.net = mlp([z_dim, *[hidden] * depth, dims])
        self.squash = squash

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(z)
        return torch.tanh(x) if self.squash else x


class Critic(nn.Module):
    """points [N, dims] -> one score per pack of ``pack`` samples [N / pack] (PacGAN, Lin et al. 2018:
    judging several samples at once lets the critic see a lack of variety)."""

    def __init__(self, dims: int, hidden: int, depth: int = 3, pack: int = 1, spectral: bool = False):
        super().__init__()
        self.pack = pack
        self.net = mlp([dims * pack, *[hidden] * depth, 1], act=lambda: nn.LeakyReLU(0.2), spectral=spectral)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        packed = x.reshape(x.shape[0] // self.pack, -1)  # (N / pack, pack * dims)
        return self.net(packed).squeeze(1)


class Encoder(nn.Module):
    """points [N, dims] -> (mean, log-variance) [N, z_dim] each."""

    def __init__(self, dims: int, z_dim: int, hidden: int):
        super().__init__()
        self.net = mlp([dims, hidden, hidden, 2 * z_dim])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.net(x).chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 8.0)


class GaussianDecoder(nn.Module):
    """z [N, z_dim] -> (mean, log-scale) [N, dims] of a Gaussian over the points."""

    def __init__(self, dims: int, z_dim: int, hidden: int):
        super().__init__()
        self.net = mlp([z_dim, hidden, hidden, 2 * dims])

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_scale = self.net(z).chunk(2, dim=1)
        return mean, log_scale.clamp(-6.0, 3.0)


def gaussian_nll(x: torch.Tensor, out: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """-log N(x; mean, scale^2) per example [N], summed over dims."""
    mean, log_scale = out
    return (0.5 * ((x - mean) * torch.exp(-log_scale)).pow(2) + log_scale + 0.5 * math.log(2 * math.pi)).sum(1)


class SampledPoints(nn.Module):
    """Export head: z [N, z_dim + dims] -> a draw from the decoder's Gaussian [N, dims]."""

    def __init__(self, decoder: GaussianDecoder, z_dim: int):
        super().__init__()
        self.decoder, self.z_dim = decoder, z_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        mean, log_scale = self.decoder(z[:, : self.z_dim])
        return mean + torch.exp(log_scale) * z[:, self.z_dim :]


class MixtureDecoder(nn.Module):
    """z [N, z_dim] -> a K-component Gaussian mixture over the points: (logits [N, K], means [N, K, dims],
    log-scales [N, K, dims]). Strong enough to model the data without z: what invites posterior collapse."""

    def __init__(self, dims: int, z_dim: int, hidden: int, components: int = 10):
        super().__init__()
        self.dims, self.components = dims, components
        self.net = mlp([z_dim, hidden, hidden, components * (1 + 2 * dims)])

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.net(z)
        k, d = self.components, self.dims
        logits = out[:, :k]  # (N, K)
        means = out[:, k : k + k * d].reshape(-1, k, d)  # (N, K, dims)
        log_scales = out[:, k + k * d :].reshape(-1, k, d).clamp(-6.0, 3.0)  # (N, K, dims)
        return logits, means, log_scales


def mixture_nll(x: torch.Tensor, out: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """-log sum_k pi_k N(x; mean_k, scale_k^2) per example [N]."""
    logits, means, log_scales = out
    z = (x[:, None, :] - means) * torch.exp(-log_scales)  # (N, K, dims)
    log_comp = (-0.5 * z.pow(2) - log_scales - 0.5 * math.log(2 * math.pi)).sum(2)  # (N, K)
    return -torch.logsumexp(F.log_softmax(logits, dim=1) + log_comp, dim=1)


class SampledMixture(nn.Module):
    """Export head: z [N, z_dim + 1 + dims] -> a draw from the decoder's mixture [N, dims]; the first extra
    column picks the component (inverse CDF of its weights), the rest are its Gaussian noise."""

    def __init__(self, decoder: MixtureDecoder, z_dim: int):
        super().__init__()
        self.decoder, self.z_dim = decoder, z_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        logits, means, log_scales = self.decoder(z[:, : self.z_dim])
        u = normal_to_uniform(z[:, self.z_dim])  # (N,) uniform from a normal column
        edges = torch.cumsum(torch.softmax(logits, dim=1), dim=1)[:, :-1]  # (N, K - 1)
        pick = (u[:, None] > edges).to(torch.int64).sum(1)  # (N,)
        index = pick[:, None, None].expand(-1, 1, means.shape[2])  # (N, 1, dims)
        mean = means.gather(1, index)[:, 0]  # (N, dims)
        scale = torch.exp(log_scales.gather(1, index)[:, 0])
        return mean + scale * z[:, self.z_dim + 1 :]


class BernoulliDecoder(nn.Module):
    """z [N, z_dim] -> pixel logits [N, 784] (pixels in [0, 1] as Bernoulli probabilities)."""

    def __init__(self, dims: int, z_dim: int, hidden: int):
        super().__init__()
        self.net = mlp([z_dim, hidden, hidden, dims])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def bernoulli_nll(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of pixels in [-1, 1] (read as probabilities (x + 1) / 2) per example [N]."""
    return F.binary_cross_entropy_with_logits(logits, (x + 1) / 2, reduction="none").sum(1)


class MeanImage(nn.Module):
    """Export head: z [N, z_dim] -> the decoder's mean image, flattened, in [-1, 1]."""

    def __init__(self, decoder: BernoulliDecoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return 2 * torch.sigmoid(self.decoder(z)) - 1


class ActNorm(nn.Module):
    """Per-dimension affine map, set from the first batch to zero mean and unit variance (Glow)."""

    def __init__(self, dims: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(dims))
        self.log_scale = nn.Parameter(torch.zeros(dims))
        self.register_buffer("initialized", torch.tensor(False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and not bool(self.initialized):
            with torch.no_grad():
                self.loc.copy_(-x.mean(0))
                self.log_scale.copy_(-torch.log(x.std(0) + 1e-6))
                self.initialized.fill_(True)
        return (x + self.loc) * torch.exp(self.log_scale), self.log_scale.sum().expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(-self.log_scale) - self.loc


class Coupling(nn.Module):
    """Affine coupling on 2-D points: one coordinate is scaled and shifted by a function of the other."""

    def __init__(self, hidden: int, flip: bool):
        super().__init__()
        self.flip = flip
        self.net = mlp([1, hidden, hidden, 2])
        nn.init.zeros_(self.net[-1].weight)  # every coupling starts as the identity
        nn.init.zeros_(self.net[-1].bias)

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (x[:, 1:], x[:, :1]) if self.flip else (x[:, :1], x[:, 1:])

    def _join(self, keep: torch.Tensor, moved: torch.Tensor) -> torch.Tensor:
        return torch.cat([moved, keep], 1) if self.flip else torch.cat([keep, moved], 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        keep, move = self._split(x)
        log_s, t = self.net(keep).chunk(2, dim=1)  # (N, 1) each
        return self._join(keep, move * torch.exp(log_s) + t), log_s.sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        keep, moved = self._split(y)
        log_s, t = self.net(keep).chunk(2, dim=1)
        return self._join(keep, (moved - t) * torch.exp(-log_s))


class PointFlow(nn.Module):
    """RealNVP on 2-D points: ``depth`` couplings, alternating which coordinate moves, each after an
    optional ActNorm; x -> standard-normal noise, with an exact log-density."""

    def __init__(self, depth: int, hidden: int, actnorm: bool):
        super().__init__()
        self.steps = nn.ModuleList()
        for i in range(depth):
            if actnorm:
                self.steps.append(ActNorm(2))
            self.steps.append(Coupling(hidden, flip=bool(i % 2)))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) per point [N]."""
        log_det = torch.zeros(x.shape[0], device=x.device)
        for step in self.steps:
            x, ld = step(x)
            log_det = log_det + ld
        return -0.5 * x.pow(2).sum(1) - math.log(2 * math.pi) + log_det

    def sample(self, noise: torch.Tensor) -> torch.Tensor:
        x = noise
        for step in reversed(self.steps):
            x = step.inverse(x)
        return x

    def freeze_for_export(self) -> PointFlow:
        return self


class FlowSampler(nn.Module):
    """Export head: noise [N, 2] -> points [N, 2]."""

    def __init__(self, flow: PointFlow):
        super().__init__()
        self.flow = flow

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.flow.sample(z)


class ContinuousPoints:
    """The FlowProcess's data adapter for real-valued points: nothing to dequantize, so the flow's density
    is the likelihood itself (in nats per point, reported as bits per dimension)."""

    unit = "bits/dim"
    dims = 2
    units = 2
    cell_log_volume = 0.0

    def shape(self) -> tuple[int, ...]:
        return (2,)

    def dequantize(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return x

    def noise_like(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return torch.zeros_like(x)

    def head(self, flow: nn.Module) -> nn.Module:
        return FlowSampler(flow)
