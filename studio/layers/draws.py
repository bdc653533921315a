"""Categorical draws written as plain tensor ops, so an exported graph samples with noise it takes as an input.

A graph input of standard-normal noise (what every one-shot generator already takes) becomes one uniform
number per token; the token is read off the inverse cumulative distribution at that number. The same noise
always gives the same tokens, and noise scaled towards 0 (a lower temperature) moves every draw towards the
distribution's median token.
"""

from __future__ import annotations

import math

import torch


def normal_to_uniform(noise: torch.Tensor) -> torch.Tensor:
    """Standard-normal noise -> uniform (0, 1), elementwise (the normal CDF)."""
    return 0.5 * (1 + torch.erf(noise / math.sqrt(2.0)))


def inverse_cdf_draw(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """logits [..., V], uniform u [...] -> int64 ids [...]: the first token whose cumulative probability reaches u."""
    cdf = torch.cumsum(torch.softmax(logits, dim=-1), dim=-1)  # (..., V)
    return (cdf < u.unsqueeze(-1)).sum(dim=-1).clamp(max=logits.shape[-1] - 1)
