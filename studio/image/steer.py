"""The image generators that steer, as served (their export heads), and their training preview."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from studio.families.base import deep_copy_frozen
from studio.families.maskgit import masked_decode
from studio.families.vaeac import VAEACProcess
from studio.image.codec import save_image_grid
from studio.image.masks import preset_mask
from studio.image.networks.heads import BINS
from studio.image.networks.vqvae import region_codes
from studio.layers.conditional_glow import Condition

if TYPE_CHECKING:
    from studio.families.cflow import ConditionalFlowProcess
    from studio.families.maskgit import MaskedTokenProcess


class SteeredImage(nn.Module):
    """A steering image generator as served: (z, label [B], mask uint8 [B, 28, 28, 1], visible uint8
    [B, 28, 28, 1]) -> uint8 [B, 28, 28, 1], the given pixels copied through exactly. Subclasses ``draw``
    (z, label, given [B, 1, 28, 28] in {0, 1}, image [B, 1, 28, 28] in [-1, 1]) -> [B, 1, 28, 28] in [-1, 1]."""

    def draw(self, z: torch.Tensor, label: torch.Tensor, given: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def to_pixels(self, x: torch.Tensor) -> torch.Tensor:
        """``draw``'s output [B, 1, 28, 28] -> pixel values in [0, 255], whole numbers."""
        return ((x + 1.0) * 127.5).round().clamp(0.0, 255.0)

    @staticmethod
    def inputs(z: torch.Tensor, label: torch.Tensor | None, mask: torch.Tensor | None,
               visible: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """(label, mask, visible, given [B, 1, 28, 28] in {0, 1}, image [B, 1, 28, 28] in [-1, 1]), with what
        is left out (PyTorch callers only: the ONNX graph takes all four inputs) filled as nothing given."""
        if label is None:
            label = torch.full((z.shape[0],), -1, dtype=torch.int64)
        if mask is None or visible is None:
            mask = visible = torch.zeros(z.shape[0], 28, 28, 1, dtype=torch.uint8)
        given = mask.permute(0, 3, 1, 2).to(torch.float32)  # (B, 1, 28, 28)
        image = visible.permute(0, 3, 1, 2).to(torch.float32) / 127.5 - 1.0  # (B, 1, 28, 28)
        return label, mask, visible, given, image

    @staticmethod
    def class_for_nothing_given(label: torch.Tensor, given: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """``label`` [B], except that a draw with nothing given and no class gets the argmax of its ``scores``
        [B, classes] (noise columns: uniform over the classes at any temperature)."""
        nothing_given = given.flatten(1).amax(1) == 0  # (B,)
        return torch.where((label < 0) & nothing_given, scores.argmax(1), label)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                visible: torch.Tensor | None = None) -> torch.Tensor:
        label, mask, visible, given, image = self.inputs(z, label, mask, visible)
        drawn = self.to_pixels(self.draw(z, label, given, image))  # (B, 1, 28, 28) in [0, 255]
        drawn = drawn.permute(0, 2, 3, 1).to(torch.uint8)  # (B, 28, 28, 1)
        return torch.where(mask > 0, visible, drawn)


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


class SteeredFlowImage(SteeredImage):
    """The flow's: its inverse, given the class and the region. With nothing given and no class it picks the
    class from the last ``classes`` columns of z (their argmax: uniform at any temperature). z is
    [B, 784 + classes]."""

    def __init__(self, process: ConditionalFlowProcess):
        super().__init__()
        self.flow = frozen(process.flow).freeze_for_export()
        self.dims = process.dims

    def condition(self, z: torch.Tensor, label: torch.Tensor, given: torch.Tensor,
                  image: torch.Tensor) -> Condition:
        return Condition(self.class_for_nothing_given(label, given, z[:, self.dims :]), given, image)

    def draw(self, z: torch.Tensor, label: torch.Tensor, given: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.flow.from_noise(z[:, : self.dims], self.condition(z, label, given, image))  # in [-1/2, 1/2)

    def to_pixels(self, x: torch.Tensor) -> torch.Tensor:
        return torch.floor((x + 0.5) * BINS).clamp(0.0, BINS - 1.0)

    def unstable_draws(self, z: torch.Tensor, label: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                       visible: torch.Tensor | None = None) -> torch.Tensor:
        """Draws [B] (bool) whose sample float rounding can change: the export's parity check skips them."""
        label, _, _, given, image = self.inputs(z, label, mask, visible)
        return self.flow.guarded_draws(z[:, : self.dims], self.condition(z, label, given, image))


class SteeredCodesImage(SteeredImage):
    """The masked-token Transformer's: the given region's codes, the rest decided in rounds, then the VQ-VAE's
    decoder. z is [B, 2 * rounds * 49 + classes]: one normal number per code and round for the draw and one for
    the choice (uniforms through the normal CDF), then the class pick for draws with nothing given."""

    def __init__(self, process: MaskedTokenProcess):
        super().__init__()
        self.net, self.vqvae = frozen(process.net), frozen(process.first_stage)
        self.rounds, self.seq_len, self.choice_temperature = process.rounds, process.net.seq_len, \
            process.choice_temperature

    def draw(self, z: torch.Tensor, label: torch.Tensor, given: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        codes, known = region_codes(self.vqvae, image, given)  # (B, 49), (B, 49) bool
        per_use = self.rounds * self.seq_len
        label = self.class_for_nothing_given(label, given, z[:, 2 * per_use :])
        uniforms = 0.5 * (1.0 + torch.erf(z[:, : 2 * per_use] / math.sqrt(2.0)))  # (B, 2 * rounds * 49) in [0, 1]
        draws, choice = uniforms[:, :per_use], uniforms[:, per_use:]
        codes = masked_decode(self.net, codes, known, label, draws.reshape(-1, self.rounds, self.seq_len),
                              choice.reshape(-1, self.rounds, self.seq_len), self.choice_temperature)
        return self.vqvae.decode(codes)  # (B, 1, 28, 28) in [-1, 1]


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
