"""An autoregressive flow over tokens: each token is one dequantized dimension x_t = id_t + u_t.

The flow maps standard-normal noise eps_t to x_t through a piecewise-linear monotone-by-piece map whose
pieces are the tokens' unit cells [id, id + 1): u = Phi(eps_t) picks a cell by the centre-out layout of
the tokens ranked by p(id | id_<t) (``centered_rank_cell``), and the position in the cell by where u falls
in that cell's interval. A GRU reads the tokens before t and sets the pieces' widths.

Change of variables: on the cell of ``id`` the map has slope 1 / (p(id | id_<t) * phi(eps)), so the density
of x_t given x_<t is exactly p(id_t | id_<t) on that cell, and log p(x) = sum_t log p(id_t | id_<t). With
cells of volume 1 uniform dequantization costs nothing: the dequantized model's NLL *is* the NLL of the
tokens (uniform dequantization into a Glow's binary digits, or of a pitch as a height, leaves a gap).
Scaling the noise by T < 1 draws likelier tokens (zero noise: the greedy sequence); T = 1 draws exactly.

Text uses it over the characters of a line; music over a fragment's tokens read step by step, soprano to
bass within each step (so each voice is conditioned on the voices above it at the same step).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from studio.layers.draws import centered_rank_cell, normal_to_uniform
from studio.layers.gru import gru_cell, run_gru


class TokenFlow(nn.Module):
    """log_prob(x [N, T]) -> [N] nats; from_noise(eps [N, T]) -> x [N, T]; sample_ids(eps) -> ids [N, T]."""

    def __init__(self, vocab: int, hidden: int = 512, embed: int = 64):
        super().__init__()
        self.vocab = vocab
        self.start = vocab  # an extra input id before the first token
        self.embed = nn.Embedding(vocab + 1, embed)
        self.rnn = nn.GRU(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [N, T] -> logits of each token given the ones before it [N, T, V]."""
        inputs = torch.cat([torch.full_like(ids[:, :1], self.start), ids[:, :-1]], dim=1)  # (N, T) shifted right
        h, _ = run_gru(self.rnn, self.embed(inputs))  # (N, T, H)
        return self.out(h)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log density of dequantized tokens x [N, T] (x_t in [id, id + 1)) in nats [N]."""
        ids = torch.floor(x).long().clamp(0, self.vocab - 1)  # (N, T)
        return -F.cross_entropy(self.logits(ids).transpose(1, 2), ids, reduction="none").sum(1)

    def _decode(self, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """eps [N, T] -> (ids [N, T], offsets [N, T]), one token at a time (the GRU cell unrolled)."""
        u = normal_to_uniform(eps)  # (N, T)
        h = eps.new_zeros(eps.shape[0], self.rnn.hidden_size)  # (N, H)
        token = torch.full((eps.shape[0],), self.start, dtype=torch.long, device=eps.device)
        ids, offsets = [], []
        for t in range(eps.shape[1]):
            h = gru_cell(self.rnn, self.embed(token), h)
            token, offset = centered_rank_cell(self.out(h), u[:, t])
            ids.append(token)
            offsets.append(offset)
        return torch.stack(ids, dim=1), torch.stack(offsets, dim=1)

    def from_noise(self, eps: torch.Tensor) -> torch.Tensor:
        """eps [N, T] -> x [N, T]: the inverse of the flow (each x_t inside its token's cell)."""
        ids, offsets = self._decode(eps)
        return ids.to(eps.dtype) + offsets

    def sample_ids(self, eps: torch.Tensor) -> torch.Tensor:
        return self._decode(eps)[0]

    def freeze_for_export(self) -> TokenFlow:
        return self


class TokenDequantization:
    """Ids [N, T] -> x = id + U[0, 1) [N, T]: one dimension per token, cells of volume 1 (log-volume 0)."""

    def __init__(self, length: int, unit: str):
        self.length = length
        self.unit = unit
        self.dims = self.units = length
        self.cell_log_volume = 0.0

    def shape(self) -> tuple[int]:
        return (self.length,)

    def dequantize(self, ids: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        ids = ids.reshape(len(ids), -1)  # (N, T): a grid of tokens is read in row-major order
        noise = torch.rand(ids.shape, device=ids.device) if noise is None else noise.to(ids.device)
        return ids.float() + noise.reshape(ids.shape)  # (N, T)

    def noise_like(self, ids: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return torch.rand((len(ids), self.length), generator=gen)
