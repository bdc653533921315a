"""A Gaussian-mixture prior fitted to a trained VAE's latent codes (its aggregate posterior).

A VAE trained against N(0, I) rarely fills N(0, I): the codes of real data form a lumpy cloud with holes,
and decoding noise from a hole draws a blend of things (a grey blob, a garbled line). Fitting a density to
the codes after training and sampling from it instead is the "two-stage" cure (Dai & Wipf 2019; Ghosh et
al. 2020 fit exactly such a mixture). The decoder is untouched, so it stays a VAE: its likelihood bound
is computed against the fitted prior (any prior gives a valid ELBO).

The exported generator still takes standard-normal noise: ``forward`` maps it to a draw from the mixture.
Columns: ``latent`` for the Gaussian, then one more (when there is more than one component) that picks
the component by inverse CDF. One component is an affine map, so ``to_noise`` can carry a code back
into noise coordinates, and straight lines between codes stay straight (what interpolation needs).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from studio.layers.draws import normal_to_uniform


class GaussianMixturePrior(nn.Module):
    """Noise [B, noise_dims] -> z [B, latent]; ``log_prob(z)`` [B]. Starts as N(0, I) until ``fit``."""

    def __init__(self, latent: int, components: int = 1):
        super().__init__()
        if components < 1:
            raise ValueError(f"a mixture needs at least one component, got {components}")
        self.latent, self.components = latent, components
        self.register_buffer("weights", torch.full((components,), 1.0 / components))  # (K,)
        self.register_buffer("means", torch.zeros(components, latent))  # (K, z)
        self.register_buffer("chol", torch.eye(latent).repeat(components, 1, 1))  # (K, z, z) lower-triangular
        self.register_buffer("fitted", torch.tensor(False))

    @property
    def noise_dims(self) -> int:
        return self.latent + (1 if self.components > 1 else 0)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        eps = noise[:, : self.latent]  # (B, z)
        if self.components == 1:
            return self.means[0] + eps @ self.chol[0].T  # (B, z)
        u = normal_to_uniform(noise[:, self.latent])  # (B,) uniform in (0, 1)
        edges = torch.cumsum(self.weights, 0)[:-1]  # (K - 1,) inner CDF edges
        k = (u[:, None] > edges[None, :]).to(torch.int64).sum(1)  # (B,) component index
        scaled = (self.chol[k] @ eps[:, :, None])[:, :, 0]  # (B, z)
        return self.means[k] + scaled

    def to_noise(self, z: torch.Tensor) -> torch.Tensor:
        """A code [B, z] -> the noise [B, z] that ``forward`` maps to it (one component only)."""
        if self.components != 1:
            raise ValueError("only a one-component prior maps codes back to noise; interpolate with components=1")
        centred = (z - self.means[0])[:, :, None]  # (B, z, 1)
        return torch.linalg.solve_triangular(self.chol[0].expand(len(z), -1, -1), centred, upper=False)[:, :, 0]

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) per row [B]."""
        diff = (z[:, None, :] - self.means[None])[..., None]  # (B, K, z, 1)
        chol = self.chol[None].expand(len(z), -1, -1, -1)  # (B, K, z, z)
        white = torch.linalg.solve_triangular(chol, diff, upper=False)[..., 0]  # (B, K, z)
        log_det = torch.log(torch.diagonal(self.chol, dim1=-2, dim2=-1)).sum(-1)  # (K,)
        per_comp = -0.5 * white.pow(2).sum(-1) - log_det - 0.5 * self.latent * math.log(2 * math.pi)  # (B, K)
        return torch.logsumexp(per_comp + torch.log(self.weights), dim=1)

    @torch.no_grad()
    def fit(self, means: torch.Tensor, variances: torch.Tensor, *, iterations: int = 60, seed: int = 0) -> None:
        """Fit to posterior means [N, z] and variances [N, z] by EM on the means; each component's covariance
        then adds its members' average posterior variance, so it covers the posteriors and not just their
        centres (with one component: the aggregate posterior's exact mean and covariance)."""
        n, d = means.shape
        k = self.components
        gen = torch.Generator().manual_seed(seed)
        x = means.double()
        resp = torch.zeros(n, k, dtype=torch.float64)
        resp[torch.arange(n), torch.randint(0, k, (n,), generator=gen)] = 1.0  # (N, K) random hard start
        for _ in range(iterations if k > 1 else 1):
            weight, mu, cov = _m_step(x, resp)
            if k == 1:
                break
            chol = torch.linalg.cholesky(cov)
            log_det = torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # (K,)
            log_r = torch.empty(n, k, dtype=x.dtype)  # (N, K)
            for j in range(k):  # one component at a time: (z, N) at most, never (N, K, z, z) (5 GB at K=10)
                white = torch.linalg.solve_triangular(chol[j], (x - mu[j]).T, upper=False)  # (z, N)
                log_r[:, j] = -0.5 * white.pow(2).sum(0) - log_det[j] + torch.log(weight[j])
            resp = torch.softmax(log_r, dim=1)
        weight, mu, cov = _m_step(x, resp)
        posterior_var = (resp.T @ variances.double()) / resp.sum(0)[:, None].clamp_min(1e-9)  # (K, z)
        cov = cov + torch.diag_embed(posterior_var)
        self.weights.copy_(weight.float())
        self.means.copy_(mu.float())
        self.chol.copy_(torch.linalg.cholesky(cov).float())
        self.fitted.fill_(True)


def _m_step(x: torch.Tensor, resp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weights [K], means [K, z] and covariances [K, z, z] (with a small ridge) from responsibilities [N, K]."""
    count = resp.sum(0).clamp_min(1e-9)  # (K,)
    mu = (resp.T @ x) / count[:, None]  # (K, z)
    covs = []
    for k in range(resp.shape[1]):  # one component at a time: (N, z) at most, never (N, K, z, z)
        diff = x - mu[k]  # (N, z)
        covs.append((diff * resp[:, k : k + 1]).T @ diff / count[k])  # (z, z)
    cov = torch.stack(covs) + 1e-4 * torch.eye(x.shape[1], dtype=x.dtype)  # (K, z, z), ridged
    return count / count.sum(), mu, cov
