"""GAN process: the hinge loss, WGAN-GP or the original non-saturating loss, TTUR learning rates, an EMA
generator.

Phases: ``d`` (discriminator) then ``g`` (generator, every ``g_every`` steps). The exported
generator is the EMA copy, which averages out the oscillation GAN training leaves in the live weights.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from studio.families.base import GenerativeProcess, Phase, deep_copy_frozen


@torch.no_grad()
def recalibrate_batchnorm(net: nn.Module, z_dim: int, batches: int = 10, batch_size: int = 128,
                          seed: int = 0) -> nn.Module:
    """Recompute BatchNorm running statistics for ``net``'s own weights ("standing statistics").

    The EMA generator's weights are an average over many steps, so the live generator's running
    statistics do not match them; without this the averaged generator draws washed-out noise.
    """
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return net.eval()
    device = next(net.parameters()).device
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    net.train()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(batches):
        net(torch.randn(batch_size, z_dim, generator=gen).to(device))
    return net.eval()


#: "non-saturating" is Goodfellow et al.'s loss (the generator maximises log D(G(z))); the others are the
#: stabilised ones this project trains with.
OBJECTIVES = ("hinge", "wgan-gp", "non-saturating")


class GANProcess(GenerativeProcess):
    family = "gan"

    def __init__(self, generator: nn.Module, discriminator: nn.Module, *, modality: str, z_dim: int,
                 sample_shape: tuple[int, ...], lr_g: float = 1e-4, lr_d: float = 4e-4,
                 betas: tuple[float, float] = (0.0, 0.9), head: type[nn.Module] | None = None,
                 preview_fn: Any = None, objective: str = "hinge", gp_weight: float = 10.0, g_every: int = 1,
                 real_view: nn.Module | None = None, charset: str | None = None, batch_example: Any = None,
                 feature_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                 feature_weight: float = 0.0):
        super().__init__(modality=modality, charset=charset, batch_example=batch_example)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
        self.objective, self.gp_weight, self.g_every = objective, gp_weight, g_every
        self.real_view = real_view  # how a data batch meets the discriminator (e.g. ids -> one-hot)
        # (real, fake) -> a distance between statistics of the two batches, added to the generator's loss
        # times feature_weight (feature matching, Salimans et al. 2016); None: the adversarial loss alone
        self.feature_loss, self.feature_weight = feature_loss, feature_weight
        self.generator = generator
        self.discriminator = discriminator
        self.generator_ema = deep_copy_frozen(generator)
        self._z_dim, self._sample_shape = z_dim, tuple(sample_shape)
        self.lr_g, self.lr_d, self.betas = lr_g, lr_d, betas
        self.head = head
        self.preview_fn = preview_fn

    @property
    def z_dim(self) -> int:
        return self._z_dim

    def sample_shape(self) -> tuple[int, ...]:
        return self._sample_shape

    def _noise(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.randn(n, self._z_dim, device=device)  # (N, z_dim)

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """(||grad D(x_hat)|| - 1)^2 on random interpolates of real and fake (Gulrajani et al. 2017)."""
        mix = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
        x_hat = (mix * real + (1 - mix) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(self.discriminator(x_hat).sum(), x_hat, create_graph=True)
        return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()

    def d_loss(self, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        real = self.real_view(batch) if self.real_view is not None else batch
        with torch.no_grad():
            fake = self.generator(self._noise(real.shape[0], real.device))
        d_real, d_fake = self.discriminator(real), self.discriminator(fake)  # (N,), (N,)
        if self.objective == "wgan-gp":
            distance = d_real.mean() - d_fake.mean()  # the critic's Wasserstein estimate
            gp = self.gradient_penalty(real, fake)
            return {"loss": -distance + self.gp_weight * gp, "wasserstein": distance, "gp": gp,
                    "d_real": d_real.mean(), "d_fake": d_fake.mean()}
        if self.objective == "non-saturating":  # D's logits: -log sigmoid(D(real)) - log(1 - sigmoid(D(fake)))
            loss_real, loss_fake = F.softplus(-d_real).mean(), F.softplus(d_fake).mean()
        else:
            loss_real, loss_fake = F.relu(1 - d_real).mean(), F.relu(1 + d_fake).mean()
        return {"loss": loss_real + loss_fake, "loss_real": loss_real, "loss_fake": loss_fake,
                "d_real": d_real.mean(), "d_fake": d_fake.mean()}

    def g_loss(self, real: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        fake = self.generator(self._noise(real.shape[0], real.device))
        for p in self.discriminator.parameters():
            p.requires_grad_(False)  # G's phase must not build D's weight gradients
        try:
            score = self.discriminator(fake)
        finally:
            for p in self.discriminator.parameters():
                p.requires_grad_(True)
        # -log sigmoid(D(G(z))) for the original loss; -D(G(z)) for the hinge and WGAN-GP
        adversarial = F.softplus(-score).mean() if self.objective == "non-saturating" else -score.mean()
        if self.feature_loss is None or not self.feature_weight:
            return {"loss": adversarial}
        matched = self.feature_loss(self.real_view(real) if self.real_view is not None else real, fake)
        return {"loss": adversarial + self.feature_weight * matched, "adversarial": adversarial,
                "feature_match": matched}

    def phases(self) -> list[Phase]:
        return [
            Phase("d", self.discriminator, self.d_loss, lr=self.lr_d, betas=self.betas),
            Phase("g", self.generator, self.g_loss, lr=self.lr_g, betas=self.betas, every=self.g_every),
        ]

    def ema_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [(self.generator, self.generator_ema)]

    def export_module(self) -> nn.Module:
        net = recalibrate_batchnorm(deep_copy_frozen(self.generator_ema), self._z_dim)
        return self.head(net) if self.head else net

    @torch.no_grad()
    def write_preview(self, path: Path, step: int) -> None:
        if self.preview_fn is not None:
            self.preview_fn(self.export_module(), self._z_dim, path)
