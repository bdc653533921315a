"""A sentence VAE over fixed-length lines (Bowman et al. 2016), character level.

Encoder: a bidirectional GRU reads the line; its final states give the Gaussian posterior.
Decoder: a GRU writes the line one character at a time from z (z sets the first hidden state
and joins every input). Word dropout replaces a share of the decoder's input characters with
a blank during training, so the decoder cannot lean on them alone and must read z.
The export samples each character from the decoder, unrolled over the fixed line length:
(z, one noise number per character) -> character ids.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from studio.layers.draws import centered_rank_draw, normal_to_uniform
from studio.layers.gru import gru_cell, run_gru


class LineEncoder(nn.Module):
    """ids [B, T] -> (mean [B, z], logvar [B, z])."""

    def __init__(self, vocab: int, z_dim: int, hidden: int = 256, embed: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.to_stats = nn.Linear(2 * hidden, 2 * z_dim)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, h = run_gru(self.rnn, self.embed(ids))  # h: (2, B, H), forward and backward final states
        mean, logvar = self.to_stats(torch.cat([h[0], h[1]], dim=1)).chunk(2, dim=1)
        return mean, logvar.clamp(-10.0, 6.0)


class LineDecoder(nn.Module):
    """Teacher-forced (z [B, z], ids [B, T]) -> logits [B, T, V]; ``sample(z, u)`` writes a line from z and noise."""

    def __init__(self, vocab: int, z_dim: int, hidden: int = 256, embed: int = 64, word_dropout: float = 0.3):
        super().__init__()
        self.vocab = vocab
        self.start, self.blank = vocab, vocab + 1  # extra input ids: start of line, dropped character
        self.embed = nn.Embedding(vocab + 2, embed)
        self.init = nn.Linear(z_dim, hidden)
        self.rnn = nn.GRU(embed + z_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)
        self.word_dropout = word_dropout

    def forward(self, z: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        inputs = torch.cat([torch.full_like(ids[:, :1], self.start), ids[:, :-1]], dim=1)  # (B, T) shifted right
        if self.training and self.word_dropout > 0:
            drop = torch.rand(inputs.shape, device=inputs.device) < self.word_dropout
            drop[:, 0] = False
            inputs = torch.where(drop, torch.full_like(inputs, self.blank), inputs)
        x = torch.cat([self.embed(inputs), z[:, None, :].expand(-1, ids.shape[1], -1)], dim=2)  # (B, T, E + z)
        h, _ = self.rnn(x, torch.tanh(self.init(z))[None])  # (B, T, H)
        return self.out(h)  # (B, T, V)

    def sample(self, z: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Ancestral sampling given z [B, z] and one uniform number per position u [B, T] -> ids [B, T].

        Each character is read off the centre-out layout of the ranked characters at u
        (``centered_rank_draw``): u = 0.5 everywhere gives the greedy line, and u uniform draws exactly.
        The GRU cell is written out from the trained weights, so the loop unrolls into plain ONNX ops."""
        h = torch.tanh(self.init(z))  # (B, H)
        token = torch.full((z.shape[0],), self.start, dtype=torch.long, device=z.device)
        out = []
        for t in range(u.shape[1]):
            x = torch.cat([self.embed(token), z], dim=1)  # (B, E + z)
            h = gru_cell(self.rnn, x, h)  # (B, H)
            token = centered_rank_draw(self.out(h), u[:, t])  # (B,)
            out.append(token)
        return torch.stack(out, dim=1)  # (B, T)


class SampledLines(nn.Module):
    """Export head: z [B, latent + T] -> int64 character ids [B, T].

    The first ``latent`` columns are the VAE's latent; the other T are standard-normal noise that
    becomes the uniform number each character is drawn with (noise stays an input of the graph); noise
    scaled by T samples at temperature T, and zero noise gives the greedy line (how interpolation decodes).
    Greedy decoding from z alone repeats itself ("the stall the stall"); drawing each character
    from p(x_t | x_<t, z) is what the model actually learned."""

    unrolled = True  # a loop over every token: exported by tracing (see studio.onnx.export)

    def __init__(self, decoder: LineDecoder, latent: int, length: int):
        super().__init__()
        self.decoder, self.latent, self.length = decoder, latent, length

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        latent, noise = z[:, : self.latent], z[:, self.latent :]  # (B, latent), (B, T)
        return self.decoder.sample(latent, normal_to_uniform(noise))


class EncodeMean(nn.Module):
    """Export head for interpolation: ids [B, T] -> the posterior mean [B, z]."""

    # the dynamo exporter decomposes a GRU into one step per token; tracing keeps ONNX's GRU operator
    unrolled = True

    def __init__(self, encoder: LineEncoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.encoder(ids)[0]


def line_nll(ids: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Per-line reconstruction NLL in nats [B], summed over characters."""
    return F.cross_entropy(logits.transpose(1, 2), ids, reduction="none").sum(1)
