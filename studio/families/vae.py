"""VAE process: one phase, ELBO with a linear KL warm-up. Exports the decoder (z -> sample)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from studio.families.base import GenerativeProcess, Phase, deep_copy_frozen
from studio.layers.likelihoods import bits_per_dim, gaussian_kl

# recon_nll(x, decoder_output) -> per-example NLL in nats [N]
ReconNLL = Callable[[torch.Tensor, Any], torch.Tensor]


class VAEProcess(GenerativeProcess):
    family = "vae"

    def __init__(self, encoder: nn.Module, decoder: nn.Module, *, modality: str, z_dim: int,
                 sample_shape: tuple[int, ...], recon_nll: ReconNLL, export_head: Callable[[nn.Module], nn.Module],
                 lr: float = 1e-3, kl_warmup_steps: int = 1000, free_bits: float = 0.0,
                 eval_data: torch.Tensor | None = None, preview_fn: Any = None, decoder_reads_x: bool = False,
                 encoder_head: Callable[[nn.Module], nn.Module] | None = None, likelihood_unit: str = "bits/dim",
                 sampling_dims: int = 0, charset: str | None = None, batch_example: Any = None):
        super().__init__(modality=modality, charset=charset, batch_example=batch_example)
        # Extra noise columns the exported generator takes after the latent (e.g. one per character drawn).
        self.sampling_dims = sampling_dims
        # An autoregressive decoder is teacher-forced: it reads x as well as z (decoder(z, x)).
        self.decoder_reads_x = decoder_reads_x
        self.encoder_head = encoder_head  # exported as encoder.onnx (sample -> posterior mean) when set
        # Likelihoods are in bits per element of the sample (a pixel dim, a character, a token): the unit's name.
        self.likelihood_unit = likelihood_unit
        self.encoder, self.decoder = encoder, decoder
        self.model = nn.ModuleDict({"encoder": encoder, "decoder": decoder})
        self._z_dim, self._sample_shape = z_dim, tuple(sample_shape)
        self.recon_nll, self.export_head = recon_nll, export_head
        self.lr, self.kl_warmup_steps, self.free_bits = lr, kl_warmup_steps, free_bits
        self.eval_data = eval_data  # not a buffer: data stays out of checkpoints
        self.preview_fn = preview_fn
        self.dims = int(math.prod(sample_shape))

    @property
    def z_dim(self) -> int:
        """The exported generator's noise width: the latent, plus any sampling noise."""
        return self._z_dim + self.sampling_dims

    def sample_shape(self) -> tuple[int, ...]:
        return self._sample_shape

    def beta(self, step: int) -> float:
        return min(1.0, step / self.kl_warmup_steps) if self.kl_warmup_steps else 1.0

    def terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example reconstruction NLL [N] and per-unit KL [N, z_dim] for one posterior sample."""
        mean, logvar = self.encoder(x)  # (N, z_dim) each
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        return self.recon_nll(x, self._decode(z, x)), gaussian_kl(mean, logvar)

    def _decode(self, z: torch.Tensor, x: torch.Tensor) -> Any:
        return self.decoder(z, x) if self.decoder_reads_x else self.decoder(z)

    def loss(self, x: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        nll, kl_units = self.terms(x)
        kl_batch = kl_units.mean(0)  # (z_dim,)
        # Free bits: units below the floor cost nothing, so the encoder is not pushed to switch them off.
        kl_penalised = torch.clamp(kl_batch, min=self.free_bits).sum() if self.free_bits else kl_batch.sum()
        beta = self.beta(step)
        neg_elbo = nll.mean() + kl_batch.sum()
        return {"loss": nll.mean() + beta * kl_penalised, "nll": nll.mean(), "kl": kl_batch.sum(),
                "beta": torch.tensor(beta), "neg_elbo_bits": torch.tensor(bits_per_dim(neg_elbo.detach(), self.dims))}

    def phases(self) -> list[Phase]:
        return [Phase("vae", self.model, self.loss, lr=self.lr)]

    def export_module(self) -> nn.Module:
        return self.export_head(deep_copy_frozen(self.decoder).eval())

    @torch.no_grad()
    def negative_elbo(self, data: torch.Tensor, batch_size: int = 500) -> dict[str, float]:
        """Mean negative ELBO (an upper bound on -log p(x)) over ``data`` in bits per element, its two terms in
        nats, and the active latent units."""
        was_training = self.training
        self.eval()
        gen = torch.Generator().manual_seed(1234)
        total_nll = total_kl = 0.0
        means = []
        device = next(self.parameters()).device
        for i in range(0, len(data), batch_size):
            x = data[i : i + batch_size].to(device)
            mean, logvar = self.encoder(x)
            eps = torch.randn(mean.shape, generator=gen).to(device)
            z = mean + eps * torch.exp(0.5 * logvar)
            total_nll += float(self.recon_nll(x, self._decode(z, x)).sum())
            total_kl += float(gaussian_kl(mean, logvar).sum())
            means.append(mean.cpu())
        self.train(was_training)
        n = len(data)
        # A latent unit is active when its posterior mean varies across data (Burda et al. 2016).
        active = int((torch.cat(means).var(0) > 0.01).sum())
        neg_elbo = (total_nll + total_kl) / n
        return {"likelihood": bits_per_dim(neg_elbo, self.dims), "recon_nll_nats": total_nll / n,
                "kl_nats": total_kl / n, "active_units": active}

    @torch.no_grad()
    def likelihood_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**self.negative_elbo(data["test_tensor"]), "likelihood_unit": self.likelihood_unit,
                "likelihood_kind": "bound"}

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        if self.eval_data is None:
            return {}
        return self.negative_elbo(self.eval_data[:2000])

    @torch.no_grad()
    def write_preview(self, path: Path, step: int) -> None:
        if self.preview_fn is not None:
            self.preview_fn(self.export_module(), self.z_dim, path)

    def export(self, entry_dir: Path) -> dict[str, Any]:
        """The decoder as generator.onnx, plus encoder.onnx (sample -> posterior mean) when the recipe asks."""
        result = super().export(entry_dir)
        if self.encoder_head is not None:
            from studio.export import export_encoder

            path = entry_dir / "encoder.onnx"
            result["parity"]["encoder"] = export_encoder(
                self.encoder_head(deep_copy_frozen(self.encoder).eval()), self.example_batch(16), path,
                family=self.family, modality=self.modality, z_dim=self._z_dim, sample_shape=self.sample_shape(),
                charset=self.charset)
            result["files"] = {**result.get("files", {}), "encoder": path.name}
        return result
