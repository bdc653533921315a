"""The image generators that steer, as served (their export heads), and their training preview."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from studio.families.base import deep_copy_frozen
from studio.families.vaeac import VAEACProcess
from studio.image.codec import save_image_grid
from studio.image.masks import preset_mask


class SteeredImage(nn.Module):
    """A steering image generator as served: (z, label [B], mask uint8 [B, 28, 28, 1], visible uint8
    [B, 28, 28, 1]) -> uint8 [B, 28, 28, 1], the given pixels copied through exactly. Subclasses ``draw``
    (z, label, given [B, 1, 28, 28] in {0, 1}, image [B, 1, 28, 28] in [-1, 1]) -> [B, 1, 28, 28] in [-1, 1]."""

    def draw(self, z: torch.Tensor, label: torch.Tensor, given: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                visible: torch.Tensor | None = None) -> torch.Tensor:
        if label is None:  # nothing given (PyTorch callers only: the ONNX graph takes all four inputs)
            label = torch.full((z.shape[0],), -1, dtype=torch.int64)
        if mask is None or visible is None:
            mask = visible = torch.zeros(z.shape[0], 28, 28, 1, dtype=torch.uint8)
        given = mask.permute(0, 3, 1, 2).to(torch.float32)  # (B, 1, 28, 28)
        image = visible.permute(0, 3, 1, 2).to(torch.float32) / 127.5 - 1.0  # (B, 1, 28, 28)
        x = self.draw(z, label, given, image)  # (B, 1, 28, 28) in [-1, 1]
        drawn = ((x + 1.0) * 127.5).round().clamp(0.0, 255.0).permute(0, 2, 3, 1).to(torch.uint8)
        return torch.where(mask > 0, visible, drawn)  # (B, 28, 28, 1)


class SteeredImageGenerator(SteeredImage):
    """The VAE's: with any pixel given it draws z from the prior network; else from the asked class's mixture,
    or (label -1) the nothing-given mixture. z is [B, latent + 1]."""

    def __init__(self, process: VAEACProcess):
        super().__init__()
        self.condition, self.decoder = frozen(process.condition), frozen(process.decoder)
        self.any_prior, self.class_prior = frozen(process.any_prior), frozen(process.class_prior)
        self.latent = process.latent
        # Before the mixtures are fitted (previews during training) every draw comes from the prior network.
        self.mixtures = bool(process.any_prior.fitted)

    def draw(self, z: torch.Tensor, label: torch.Tensor, given: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        p_mean, p_logvar, skips = self.condition(label, given, image)
        from_region = p_mean + z[:, : self.latent] * torch.exp(0.5 * p_logvar)  # (B, latent)
        from_class = self.class_prior(z, label)
        from_any = self.any_prior(z)
        region_given = given.flatten(1).amax(1, keepdim=True) > 0  # (B, 1)
        chosen = torch.where(region_given, from_region, torch.where(label[:, None] >= 0, from_class, from_any)) \
            if self.mixtures else from_region
        return self.decoder(chosen, skips)[0]  # the mean image


class SteeredGANImage(SteeredImage):
    """The GAN's: its calibrated EMA generator reads everything given itself."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def draw(self, z: torch.Tensor, label: torch.Tensor, given: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.net(z, label, given, image)


PREVIEW_SEED = 0


def frozen(module: nn.Module) -> nn.Module:
    return deep_copy_frozen(module).eval()


@torch.no_grad()
def save_steering_preview(process: nn.Module, path: Path) -> None:
    """Three rows of class-conditional draws (one column per class), then for ten test images: the picture
    with its bottom half hidden (grey) and two completions. ``process`` is a steering process whose
    ``export_module()`` is the served generator."""
    generator = process.export_module().eval()
    classes = len(process.classes)
    rng = np.random.default_rng(PREVIEW_SEED)
    z = torch.from_numpy(rng.standard_normal((3 * classes, process.z_dim), dtype=np.float32))
    label = torch.arange(classes).repeat(3)
    rows = [generator(z, label).numpy()]
    if process.eval_data is not None:
        x = process.eval_data[0][:classes]  # (10, 1, 28, 28) in [-1, 1]
        visible = ((x + 1) * 127.5).round().clamp(0, 255).permute(0, 2, 3, 1).to(torch.uint8)
        mask = torch.from_numpy(np.broadcast_to(preset_mask("bottom half"), visible.shape).copy())
        shown = torch.where(mask > 0, visible, torch.full_like(visible, 128))
        rows.append(shown.numpy())
        for _ in range(2):
            z = torch.from_numpy(rng.standard_normal((classes, process.z_dim), dtype=np.float32))
            rows.append(generator(z, torch.full((classes,), -1), mask, visible).numpy())

    save_image_grid(np.concatenate(rows), path, columns=classes)
