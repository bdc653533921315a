"""VQ-VAE process: a first stage that learns the discrete codes a Transformer prior then models.

The network maps x -> (reconstruction, code indices, VQ loss) and has ``encode`` / ``decode``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from studio.families.base import GenerativeProcess, Phase

#: (originals, reconstructions, path) -> a picture of both, written atomically
ReconstructionPreview = Callable[[torch.Tensor, torch.Tensor, Path], None]


class VQVAEProcess(GenerativeProcess):
    family = "vqvae"

    def __init__(self, vqvae: nn.Module, *, modality: str, lr: float = 1e-3, eval_data: torch.Tensor | None = None,
                 preview_fn: ReconstructionPreview | None = None):
        super().__init__(modality=modality)
        self.vqvae = vqvae
        self.preview_fn = preview_fn
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
        """Reconstructions of fixed held-out samples."""
        if self.eval_data is None or self.preview_fn is None:
            return
        self.eval()
        x = self.eval_data[:32]
        recon = self.vqvae.decode(self.vqvae.encode(x.to(next(self.parameters()).device))).cpu()
        self.preview_fn(x, recon, path)
