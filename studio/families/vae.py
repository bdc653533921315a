"""VAE process: one phase, ELBO with a linear KL warm-up. Exports the decoder (z -> sample).

With ``prior_components`` set, a Gaussian mixture is fitted to the training codes before export and the
exported generator samples from it (``layers/latent_prior``); the test bound is then taken against it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from studio.families.base import GenerativeProcess, Phase, deep_copy_frozen
from studio.layers.latent_prior import GaussianMixturePrior
from studio.layers.likelihoods import bits_per_dim, gaussian_kl

# recon_nll(x, decoder_output) -> per-example NLL in nats [N]
ReconNLL = Callable[[torch.Tensor, Any], torch.Tensor]


class VAEProcess(GenerativeProcess):
    family = "vae"

    def __init__(self, encoder: nn.Module, decoder: nn.Module, *, modality: str, z_dim: int,
                 sample_shape: tuple[int, ...], recon_nll: ReconNLL, export_head: Callable[[nn.Module], nn.Module],
                 lr: float = 1e-3, kl_warmup_steps: int = 1000, free_bits: float = 0.0, beta_max: float = 1.0,
                 eval_data: torch.Tensor | None = None, preview_fn: Any = None, decoder_reads_x: bool = False,
                 encoder_head: Callable[[nn.Module], nn.Module] | None = None, likelihood_unit: str = "bits/dim",
                 sampling_dims: int = 0, charset: str | None = None, batch_example: Any = None,
                 prior_components: int = 0, prior_data: torch.Tensor | None = None):
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
        self.beta_max = beta_max  # the KL weight after warm-up: 1 is the ELBO, above 1 a beta-VAE
        self.eval_data = eval_data  # not a buffer: data stays out of checkpoints
        self.preview_fn = preview_fn
        self.dims = int(math.prod(sample_shape))
        # 0: sample N(0, I), the prior the ELBO was trained against; K: a K-component mixture fitted to the
        # codes of ``prior_data`` (the training set) before export.
        self.prior = GaussianMixturePrior(z_dim, prior_components) if prior_components else None
        self.prior_data = prior_data  # not a buffer: data stays out of checkpoints

    @property
    def z_dim(self) -> int:
        """The exported generator's noise width: the latent, plus any sampling noise."""
        latent = self.prior.noise_dims if self.prior is not None else self._z_dim
        return latent + self.sampling_dims

    def sample_shape(self) -> tuple[int, ...]:
        return self._sample_shape

    def beta(self, step: int) -> float:
        ramp = min(1.0, step / self.kl_warmup_steps) if self.kl_warmup_steps else 1.0
        return ramp * self.beta_max

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

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        """A checkpoint whose mixture has another number of components (the preset changed) loads without it:
        the mixture is fitted from the trained encoder at export, so a resumed run refits it, no retraining."""
        if self.prior is not None:
            own = {f"prior.{k}": v.shape for k, v in self.prior.state_dict().items()}
            if any(k.startswith("prior.") and own.get(k) != v.shape for k, v in state_dict.items()):
                state_dict = {k: v for k, v in state_dict.items() if not k.startswith("prior.")}
                result = super().load_state_dict(state_dict, strict=False, assign=assign)
                unexpected_or_missing = [k for k in (*result.missing_keys, *result.unexpected_keys)
                                         if not k.startswith("prior.")]
                if strict and unexpected_or_missing:
                    raise RuntimeError(f"checkpoint does not match the model: {unexpected_or_missing[:5]}")
                return result
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def export_module(self) -> nn.Module:
        head = self.export_head(deep_copy_frozen(self.decoder).eval())
        return head if self.prior is None else PriorThenHead(deep_copy_frozen(self.prior).eval(), head)

    @torch.no_grad()
    def fit_prior(self, batch_size: int = 1000) -> None:
        """Fit the mixture prior to the posterior means and variances of ``prior_data`` (a process built
        without data, as in tests, fits random batches shaped like the data)."""
        if self.prior is None:
            return
        data = self.prior_data if self.prior_data is not None else self.example_batch(512)
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        means, variances = [], []
        for i in range(0, len(data), batch_size):
            mean, logvar = self.encoder(data[i : i + batch_size].to(device))
            means.append(mean.cpu())
            variances.append(logvar.exp().cpu())
        self.train(was_training)
        self.prior.fit(torch.cat(means), torch.cat(variances))

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
            if self.prior is not None and bool(self.prior.fitted):
                # No closed form against a mixture: the one-sample estimate log q(z|x) - log p(z), at the
                # same z the reconstruction used, keeps the sum an unbiased estimate of the bound.
                log_q = (-0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi))).sum(1)  # (N,)
                total_kl += float((log_q - self.prior.log_prob(z)).sum())
            else:
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
        extra = {} if self.prior is None else {"prior": f"a {self.prior.components}-component Gaussian mixture "
                                                        "fitted to the training set's codes"}
        return {**self.negative_elbo(data["test_tensor"]), "likelihood_unit": self.likelihood_unit,
                "likelihood_kind": "bound", **extra}

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
        """The decoder as generator.onnx, plus encoder.onnx (sample -> posterior mean) when the recipe asks.
        A prior still at N(0, I) is fitted first."""
        if self.prior is not None and not bool(self.prior.fitted):
            self.fit_prior()
        result = super().export(entry_dir)
        if self.encoder_head is not None:
            from studio.onnx.export import export_encoder

            path = entry_dir / "encoder.onnx"
            head = self.encoder_head(deep_copy_frozen(self.encoder).eval())
            if self.prior is not None:
                head = CodeToNoise(deep_copy_frozen(self.prior).eval(), head)
            result["parity"]["encoder"] = export_encoder(
                head, self.example_batch(16), path,
                family=self.family, modality=self.modality, z_dim=self._z_dim, sample_shape=self.sample_shape(),
                charset=self.charset)
            result["files"] = {**result.get("files", {}), "encoder": path.name}
        return result


class PriorThenHead(nn.Module):
    """noise [B, prior noise + extra] -> head(concat(prior(noise), extra)): the fitted prior feeds the decoder."""

    def __init__(self, prior: GaussianMixturePrior, head: nn.Module):
        super().__init__()
        self.prior, self.head = prior, head

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # named z: the exported graph's input name
        k = self.prior.noise_dims
        return self.head(torch.cat([self.prior(z[:, :k]), z[:, k:]], dim=1))


class CodeToNoise(nn.Module):
    """The encoder head's code [B, z] carried back into the generator's noise coordinates (one component)."""

    def __init__(self, prior: GaussianMixturePrior, head: nn.Module):
        super().__init__()
        if prior.components != 1:
            raise ValueError("only a one-component prior maps codes back to noise; set prior_components=1")
        self.head = head
        # noise = L^-1 (z - m); the inverse is taken once here, so the graph is a plain affine map.
        self.register_buffer("mean", prior.means[0].clone())  # (z,)
        self.register_buffer("inv_chol_t", torch.linalg.inv(prior.chol[0]).T.contiguous())  # (z, z)

    def forward(self, sample: torch.Tensor) -> torch.Tensor:
        return (self.head(sample) - self.mean) @ self.inv_chol_t  # (B, z)
