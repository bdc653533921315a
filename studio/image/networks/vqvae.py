"""A small VQ-VAE (van den Oord et al. 2017) that turns a 28x28 image into a 7x7 grid of codes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PATCH = 4  # pixels per code, each way: 28x28 -> 7x7


class Quantizer(nn.Module):
    """Nearest-codebook-vector quantisation with a straight-through gradient.

    The codebook starts from encoder outputs of the first batch, so no code starts dead.
    """

    def __init__(self, codes: int, dim: int, beta: float = 0.25):
        super().__init__()
        self.codebook = nn.Parameter(torch.randn(codes, dim) * 0.1)
        self.beta = beta
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))

    def indices(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, D, H, W] -> code indices [N, H, W]."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])  # (N*H*W, D)
        dist = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.t()
                + self.codebook.pow(2).sum(1)[None, :])
        return dist.argmin(1).view(z.shape[0], z.shape[2], z.shape[3])

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """indices [N, H, W] -> code vectors [N, D, H, W]."""
        return self.codebook[idx].permute(0, 3, 1, 2)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.training and not bool(self.initialized):
            with torch.no_grad():
                flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
                pick = torch.randint(len(flat), (self.codebook.shape[0],))
                self.codebook.copy_(flat[pick])
                self.initialized.fill_(1)
        idx = self.indices(z)
        q = self.embed(idx)
        loss = F.mse_loss(q, z.detach()) + self.beta * F.mse_loss(z, q.detach())
        return z + (q - z).detach(), idx, loss  # straight-through estimator


class VQVAE(nn.Module):
    def __init__(self, codes: int = 128, dim: int = 32, width: int = 64):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1), nn.ReLU(),  # (N, w, 14, 14)
            nn.Conv2d(width, width, 4, stride=2, padding=1), nn.ReLU(),  # (N, w, 7, 7)
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, dim, 1),  # (N, D, 7, 7)
        )
        self.quantizer = Quantizer(codes, dim)
        self.decoder = nn.Sequential(
            nn.Conv2d(dim, width, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),  # 14x14
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, width // 2, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width // 2, 1, 3, padding=1), nn.Tanh(),  # (N, 1, 28, 28)
        )
        self.codes = codes

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """image [N, 1, 28, 28] in [-1, 1] -> codes [N, 49] (row-major 7x7)."""
        return self.quantizer.indices(self.encoder(x)).flatten(1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [N, 49] -> image [N, 1, 28, 28] in [-1, 1]."""
        side = int(round(codes.shape[1] ** 0.5))
        return self.decoder(self.quantizer.embed(codes.view(-1, side, side)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, idx, vq_loss = self.quantizer(self.encoder(x))
        return self.decoder(q), idx, vq_loss


class CodesToImage(nn.Module):
    """Export head: codes int64 [N, 49] -> uint8 image [N, 28, 28, 1]."""

    def __init__(self, vqvae: VQVAE):
        super().__init__()
        self.vqvae = vqvae

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        x = self.vqvae.decode(codes)
        x = ((x + 1.0) * 127.5).round().clamp(0.0, 255.0)
        return x.permute(0, 2, 3, 1).to(torch.uint8)


def region_codes(vqvae: VQVAE, x: torch.Tensor, given: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The codes a visible region gives: (codes [N, 49] of ``x`` [N, 1, 28, 28] with its hidden pixels black,
    known [N, 49] bool: the codes whose 4x4 patch is wholly given (``given`` [N, 1, 28, 28], 1 = given))."""
    blacked = torch.where(given > 0, x, torch.full_like(x, -1.0))  # black: Fashion-MNIST's background
    known = (-F.max_pool2d(-given, PATCH)).flatten(1) > 0.5  # (N, 49): the least given pixel of each patch
    return vqvae.encode(blacked), known
