"""A VAE with arbitrary conditioning (VAEAC, Ivanov et al. 2019), plus a class label: one model that draws
from nothing, from a class, or completes a sample from any given part of it.

Batches are (sample, label). Each step hides a region drawn from the modality's mask family (which includes
"all hidden") and drops the label part of the time, then maximises the bound on log p(hidden | given):
the reconstruction term counts hidden elements only, and the KL is taken against the prior network's
Gaussian p(z | given) instead of N(0, I).

Nothing given and class-only draws do not use that Gaussian: a single Gaussian covers a lumpy cloud of codes
badly, and noise from its holes decodes to blurs (the plain VAE's lesson). After training, a Gaussian
mixture is fitted to the training codes with nothing given, and one per class to each class's codes with
only its class given (``layers/latent_prior``); the exported generator draws from those and keeps the prior
network for completions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from studio.families.base import GenerativeProcess, Phase
from studio.families.conditions import MaskFn, Steers, draw_conditions, held_out_ratio
from studio.layers.latent_prior import GaussianMixturePrior
from studio.layers.likelihoods import bits_per_dim, gaussian_kl_between

#: log p per element [N, *element shape] of the samples x under the decoder's output
LogProb = Callable[[torch.Tensor, Any], torch.Tensor]


class ClassMixturePrior(nn.Module):
    """One Gaussian mixture per class: (noise [B, latent + 1], label [B] >= 0) -> z [B, latent]."""

    def __init__(self, latent: int, classes: int, components: int):
        super().__init__()
        self.per_class = nn.ModuleList(GaussianMixturePrior(latent, components) for _ in range(classes))

    @property
    def noise_dims(self) -> int:
        return self.per_class[0].noise_dims

    def forward(self, noise: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        draws = torch.stack([prior(noise) for prior in self.per_class], 1)  # (B, C, latent)
        return draws.gather(1, label.clamp(min=0)[:, None, None].expand(-1, 1, draws.shape[2]))[:, 0]


class VAEACProcess(Steers, GenerativeProcess):
    family = "vae"

    def __init__(self, condition: nn.Module, proposal: nn.Module, decoder: nn.Module, *, modality: str, z_dim: int,
                 sample_shape: tuple[int, ...], classes: tuple[str, ...], log_prob: LogProb, masks: MaskFn,
                 export_head: Callable[[VAEACProcess], nn.Module], example: Callable[[int], Any],
                 lr: float = 1e-3, kl_warmup_steps: int = 1000, label_drop: float = 0.5,
                 prior_components: int = 50, class_components: int = 5, eval_data: Any = None,
                 prior_data: Any = None, preview_fn: Any = None, likelihood_unit: str = "bits/dim"):
        super().__init__(modality=modality, batch_example=example)
        self.condition, self.proposal, self.decoder = condition, proposal, decoder
        self.model = nn.ModuleDict({"condition": condition, "proposal": proposal, "decoder": decoder})
        self.classes = tuple(classes)
        self._z_dim, self._sample_shape = z_dim, tuple(sample_shape)
        self.log_prob, self.masks, self.export_head = log_prob, masks, export_head
        self.lr, self.kl_warmup_steps, self.label_drop = lr, kl_warmup_steps, label_drop
        self.any_prior = GaussianMixturePrior(z_dim, prior_components)
        self.class_prior = ClassMixturePrior(z_dim, len(classes), class_components)
        self.eval_data, self.prior_data = eval_data, prior_data  # (samples, labels); not buffers
        self.preview_fn, self.likelihood_unit = preview_fn, likelihood_unit

    @property
    def z_dim(self) -> int:
        """The exported generator's noise: the latent and one column that picks a mixture component."""
        return self._z_dim + 1

    @property
    def latent(self) -> int:
        return self._z_dim

    def sample_shape(self) -> tuple[int, ...]:
        return self._sample_shape

    def phases(self) -> list[Phase]:
        return [Phase("vaeac", self.model, self.loss, lr=self.lr)]

    def bound_terms(self, x: torch.Tensor, label: torch.Tensor, given: torch.Tensor,
                    gen: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-example hidden-element NLL [N], KL(q || p) [N] and hidden-element count [N], one posterior draw."""
        p_mean, p_logvar, skips = self.condition(label, given, x)
        q_mean, q_logvar = self.proposal(x, given, label)
        eps = torch.randn(q_mean.shape, generator=gen).to(q_mean.device) if gen else torch.randn_like(q_mean)
        z = q_mean + eps * torch.exp(0.5 * q_logvar)
        hidden = 1.0 - given
        nll = -(self.log_prob(x, self.decoder(z, skips)) * hidden).flatten(1).sum(1)  # (N,)
        kl = gaussian_kl_between(q_mean, q_logvar, p_mean, p_logvar).sum(1)  # (N,)
        return nll, kl, hidden.flatten(1).sum(1)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        x, label = batch
        label, given = draw_conditions(x, label, self.masks, self.label_drop)
        nll, kl, hidden = self.bound_terms(x, label, given)
        beta = min(1.0, step / self.kl_warmup_steps) if self.kl_warmup_steps else 1.0
        per_hidden = (nll + kl).sum() / hidden.sum().clamp_min(1.0)
        return {"loss": (nll + beta * kl).mean(), "nll": nll.mean(), "kl": kl.mean(),
                "neg_elbo_bits_hidden": per_hidden.detach() / math.log(2.0)}

    # -- the mixtures used when no region is given -------------------------------------------------------
    @torch.no_grad()
    def codes(self, x: torch.Tensor, label: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, ...]:
        """Posterior means and variances [N, latent] of ``x`` with nothing but ``label`` given."""
        device = next(self.parameters()).device
        means, variances = [], []
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device)
            mean, logvar = self.proposal(xb, torch.zeros_like(xb), label[i : i + batch_size].to(device))
            means.append(mean.cpu())
            variances.append(logvar.exp().cpu())
        return torch.cat(means), torch.cat(variances)

    @torch.no_grad()
    def fit_priors(self) -> None:
        """Fit the nothing-given mixture to every training code, and each class's to its own codes."""
        x, labels = self.prior_data if self.prior_data is not None else self.example_batch(512)
        was_training = self.training
        self.eval()
        self.any_prior.fit(*self.codes(x, torch.full_like(labels, -1)))
        for c, prior in enumerate(self.class_prior.per_class):
            members = labels == c
            if int(members.sum()) >= 2 * prior.components:
                prior.fit(*self.codes(x[members], labels[members]))
        self.train(was_training)

    # -- held-out numbers ----------------------------------------------------------------------------------
    def hidden_bits(self, x: torch.Tensor, label: torch.Tensor, given: torch.Tensor) -> float:
        """The bound on -log p(hidden | given) in bits per hidden element, over the data (fixed noise)."""
        def terms(xb: torch.Tensor, lb: torch.Tensor, gb: torch.Tensor,
                  gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
            nll, kl, hidden = self.bound_terms(xb, lb, gb, gen)
            return nll + kl, hidden

        return bits_per_dim(held_out_ratio(self, terms, (x, label, given)), 1)

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        if self.eval_data is None:
            return {}
        x, labels = self.eval_data[0][:2000], self.eval_data[1][:2000]
        nothing = torch.zeros_like(x)
        return {"likelihood": self.hidden_bits(x, torch.full_like(labels, -1), nothing)}

    @torch.no_grad()
    def likelihood_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        """The bound on the test set with nothing given, in bits per element: taken against the prior
        network's Gaussian, so it compares with the plain VAE's bound."""
        x, labels = data["test_tensor"], data["test_labels"]
        return {"likelihood": self.hidden_bits(x, torch.full_like(labels, -1), torch.zeros_like(x)),
                "likelihood_unit": self.likelihood_unit, "likelihood_kind": "bound",
                "prior": "the prior network's Gaussian with nothing given (the bound); samples are drawn from "
                         "mixtures fitted to the training codes"}

    # -- export --------------------------------------------------------------------------------------------
    def export_module(self) -> nn.Module:
        return self.export_head(self)

    def export(self, entry_dir: Path) -> dict[str, Any]:
        if not bool(self.any_prior.fitted):
            self.fit_priors()
        return super().export(entry_dir)
