"""VQ-VAE process: the first stage of the image Transformer, learning the codes the prior models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from studio.families.base import GenerativeProcess, Phase
from studio.networks.vqvae import VQVAE


class VQVAEProcess(GenerativeProcess):
    family = "vqvae"

    def __init__(self, vqvae: VQVAE, *, modality: str, lr: float = 1e-3, eval_data: torch.Tensor | None = None):
        super().__init__()
        self.modality = modality
        self.vqvae = vqvae
        self.lr = lr
        self.eval_data = eval_data

    def loss(self, x: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        recon, idx, vq_loss = self.vqvae(x)
        rec = F.mse_loss(recon, x)
        used = torch.unique(idx).numel()
        return {"loss": rec + vq_loss, "recon_mse": rec, "vq": vq_loss, "codes_used": torch.tensor(float(used))}

    def phases(self) -> list[Phase]:
        return [Phase("vqvae", self.vqvae, self.loss, lr=self.lr)]

    @torch.no_grad()
    def encode_all(self, data: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Codes [N, 49] int64 for every image in ``data``."""
        self.eval()
        device = next(self.parameters()).device
        return torch.cat([self.vqvae.encode(data[i : i + batch_size].to(device)).cpu()
                          for i in range(0, len(data), batch_size)])

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        if self.eval_data is None:
            return {}
        self.eval()
        x = self.eval_data[:1000]
        recon, idx, _ = self.vqvae(x.to(next(self.parameters()).device))
        return {"recon_mse": float(F.mse_loss(recon.cpu(), x)), "codes_used": int(torch.unique(idx).numel())}

    @torch.no_grad()
    def write_preview(self, path: Path, step: int) -> None:
        """Reconstructions of fixed test images: top half originals, bottom half decoded codes."""
        if self.eval_data is None:
            return
        from PIL import Image

        from studio.atomic import atomic_write
        from studio.modalities.image import make_grid

        self.eval()
        x = self.eval_data[:32]
        recon = self.vqvae.decode(self.vqvae.encode(x.to(next(self.parameters()).device))).cpu()
        both = torch.cat([x, recon])
        images = ((both + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
        grid = make_grid(np.ascontiguousarray(images), columns=8, scale=2)
        atomic_write(path, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))
