"""Categorical draws written as plain tensor ops, so an exported graph samples with noise it takes as an input.

A graph input of standard-normal noise (what every one-shot generator already takes) becomes one uniform
number per token; the token is read off the inverse cumulative distribution at that number. The same noise
always gives the same tokens. Two ways to read a token off u:

- ``inverse_cdf_draw``: tokens in id order. Noise scaled towards 0 moves every draw towards the median token in
  id order, which is arbitrary.
- ``centered_rank_draw``: tokens ranked by probability and laid out centre-out (the most likely token holds
  u = 0.5, the next ones alternate either side of it). Noise scaled by T < 1 then draws the likelier tokens more
  often, and zero noise draws the most likely token: scaling the noise is a sampling temperature, and T = 1
  draws from the distribution exactly.
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


def centered_layout(vocab: int) -> torch.Tensor:
    """Ranks in left-to-right order on [0, 1): [..., 4, 2, 0, 1, 3, ...] (int64 [vocab]).

    With probabilities sorted in descending order, the mass left of rank 0 is at most the mass right of it
    and at most that plus rank 0's own, so rank 0's interval always holds u = 0.5."""
    left = list(range(2, vocab, 2))[::-1]
    return torch.tensor([*left, 0, *range(1, vocab, 2)], dtype=torch.int64)


def centered_rank_cell(logits: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """logits [..., V], uniform u [...] -> (int64 ids [...], where u falls inside the id's interval, in [0, 1)
    [...]): the token whose interval in the centre-out layout of the probability-ranked tokens holds u
    (u = 0.5: the most likely token)."""
    vocab = logits.shape[-1]
    probs, ranked = torch.sort(torch.softmax(logits, dim=-1), dim=-1, descending=True)  # (..., V) each
    layout = centered_layout(vocab).to(logits.device)
    probs, ranked = probs[..., layout], ranked[..., layout]  # (..., V) left to right
    cdf = torch.cumsum(probs, dim=-1)
    slot = (cdf < u.unsqueeze(-1)).sum(dim=-1, keepdim=True).clamp(max=vocab - 1)  # (..., 1)
    p = probs.gather(-1, slot).squeeze(-1)
    left = cdf.gather(-1, slot).squeeze(-1) - p
    offset = ((u - left) / p).clamp(0.0, 1.0 - 1e-6)
    return ranked.gather(-1, slot).squeeze(-1), offset


def centered_rank_draw(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """logits [..., V], uniform u [...] -> int64 ids [...]: ``centered_rank_cell``'s token."""
    return centered_rank_cell(logits, u)[0]
