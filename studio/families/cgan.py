"""A GAN that steers: the generator reads a class and the visible part of a sample, the discriminator judges
the finished sample with its mask and the class (projection). Batches are (sample, label).

Each step draws the regions to keep from the modality's mask family (which includes "all hidden", plain
generation) and drops the label part of the time, for the real and the generated batch alike, so the
discriminator learns what a finished sample of that class, with that part given, looks like. The hinge loss,
TTUR and the EMA generator are the plain GAN's.

A generator given a class or half a picture can learn to ignore its noise and draw one answer per condition
(conditional mode collapse: an early run drew the same T-shirt for every seed). The generator's step pairs
its samples, two noises per condition, and adds the mode-seeking term of Mao et al. (2019): the inverse of how
far the two drawn parts differ per unit of noise distance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from studio.families.base import deep_copy_frozen
from studio.families.conditions import MaskFn, Steers, draw_conditions
from studio.families.gan import GANProcess


class ConditionalGANProcess(Steers, GANProcess):

    def __init__(self, generator: nn.Module, discriminator: nn.Module, *, classes: tuple[str, ...], masks: MaskFn,
                 export_head: Callable[[nn.Module], nn.Module], example: Callable[[int], Any],
                 label_drop: float = 0.5, mode_seeking: float = 1.0, calibration_data: Any = None,
                 eval_data: Any = None, **gan: Any):
        super().__init__(generator, discriminator, batch_example=example, **gan)
        self.mode_seeking = mode_seeking  # the weight of the mode-seeking term (0: the plain adversarial loss)
        self.classes, self.masks, self.export_head, self.label_drop = tuple(classes), masks, export_head, label_drop
        self.calibration_data, self.eval_data = calibration_data, eval_data  # (samples, labels); not buffers

    def _given(self, x: torch.Tensor, label: torch.Tensor,
               gen: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(label with some dropped to -1, masks [N, ...] with 1 where given) for a batch."""
        return draw_conditions(x, label, self.masks, self.label_drop, gen)

    def d_loss(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        x, label = batch
        label, given = self._given(x, label)
        with torch.no_grad():
            fake = self.generator(self._noise(len(x), x.device), label, given, x)
        d_real, d_fake = self.discriminator(x, given, label), self.discriminator(fake, given, label)
        loss_real, loss_fake = F.relu(1 - d_real).mean(), F.relu(1 + d_fake).mean()
        return {"loss": loss_real + loss_fake, "loss_real": loss_real, "loss_fake": loss_fake,
                "d_real": d_real.mean(), "d_fake": d_fake.mean()}

    def g_loss(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        x, label = batch
        half = len(x) // 2
        label, given = self._given(x[:half], label[:half])
        # Each condition twice, with two noises: (2 * half, ...)
        x, label, given = torch.cat([x[:half]] * 2), torch.cat([label] * 2), torch.cat([given] * 2)
        z = self._noise(2 * half, x.device)
        fake = self.generator(z, label, given, x)
        for p in self.discriminator.parameters():
            p.requires_grad_(False)  # G's phase must not build D's weight gradients
        try:
            score = self.discriminator(fake, given, label)
        finally:
            for p in self.discriminator.parameters():
                p.requires_grad_(True)
        adversarial = -score.mean()
        if not self.mode_seeking:
            return {"loss": adversarial}
        hidden = (1 - given[:half]).flatten(1)  # (half, D): only the drawn part can differ
        apart = ((fake[:half] - fake[half:]).abs().flatten(1) * hidden).sum(1) / hidden.sum(1).clamp_min(1.0)
        noise_apart = (z[:half] - z[half:]).abs().mean(1)  # (half,)
        seeking = 1.0 / ((apart / noise_apart).mean() + 1e-5)
        return {"loss": adversarial + self.mode_seeking * seeking, "adversarial": adversarial,
                "mode_seeking": seeking}

    @torch.no_grad()
    def calibrated_generator(self, batches: int = 10, batch_size: int = 128, seed: int = 0) -> nn.Module:
        """The EMA generator with BatchNorm statistics recomputed for its own weights, over batches with the
        training mix of conditions (see ``gan.recalibrate_batchnorm``)."""
        net = deep_copy_frozen(self.generator_ema)
        norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        net.train()
        gen = torch.Generator().manual_seed(seed)
        device = next(net.parameters()).device
        if self.calibration_data is not None:
            x_all, y_all = self.calibration_data
        else:  # a process built without data (tests): a random batch, the same on every call
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                x_all, y_all = self.example_batch(512)
        for _ in range(batches):
            idx = torch.randint(len(x_all), (batch_size,), generator=gen)
            x, y = x_all[idx].to(device), y_all[idx].to(device)
            label, given = self._given(x, y, gen)
            net(torch.randn(batch_size, self._z_dim, generator=gen).to(device), label, given, x)
        return net.eval()

    def export_module(self) -> nn.Module:
        return self.export_head(self.calibrated_generator())
