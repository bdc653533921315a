"""Likelihoods of 8-bit data, in nats; helpers to turn them into bits per dimension."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def discretized_logistic_nll(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """-log P(x) per example, where x holds 8-bit values scaled to [-1, 1] (PixelCNN++ style).

    Each pixel is a logistic distribution integrated over its 1/255-wide bin; the end bins
    take the tails, so this is a proper probability of the discrete data. Shapes: [N, ...] -> [N].
    """
    return -discretized_logistic_log_prob(x, mean, log_scale).flatten(1).sum(1)


def discretized_logistic_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """log P(x) per pixel [N, ...] (see ``discretized_logistic_nll``), for likelihoods of some pixels only."""
    centered = x - mean
    inv_scale = torch.exp(-log_scale)
    plus_in = inv_scale * (centered + 1.0 / 255.0)
    minus_in = inv_scale * (centered - 1.0 / 255.0)
    cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(minus_in)
    log_cdf_plus = plus_in - F.softplus(plus_in)  # log P(x <= -1 bin edge), for the lowest bin
    log_one_minus_cdf_minus = -F.softplus(minus_in)  # for the highest bin
    mid_in = inv_scale * centered
    log_pdf_mid = mid_in - log_scale - 2.0 * F.softplus(mid_in)  # fallback when the bin mass underflows
    log_prob = torch.where(
        x < -0.999, log_cdf_plus,
        torch.where(x > 0.999, log_one_minus_cdf_minus,
                    torch.where(cdf_delta > 1e-5, torch.log(cdf_delta.clamp_min(1e-12)),
                                log_pdf_mid - math.log(127.5))),
    )
    return log_prob


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per latent unit: [N, z_dim]."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)


def gaussian_kl_between(q_mean: torch.Tensor, q_logvar: torch.Tensor, p_mean: torch.Tensor,
                        p_logvar: torch.Tensor) -> torch.Tensor:
    """KL(q || p) between diagonal Gaussians, per latent unit: [N, z_dim]."""
    return 0.5 * (p_logvar - q_logvar + (q_logvar.exp() + (q_mean - p_mean).pow(2)) / p_logvar.exp() - 1.0)


def bits_per_dim(nats: float | torch.Tensor, dims: int) -> float:
    return float(nats) / (dims * math.log(2.0))
