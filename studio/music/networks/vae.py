"""A MusicVAE-style VAE over 4-bar SATB fragments (Roberts et al. 2018), on token grids [B, T, 4].

Encoder: a bidirectional GRU reads the fragment step by step (the four voices' token embeddings
side by side); its final states give the Gaussian posterior.
Decoder (hierarchical, MusicVAE's counter to posterior collapse on long sequences): a
"conductor" GRU turns z into one embedding per bar; a bar decoder GRU writes each bar's 16
steps from that embedding and the previous step's four tokens, restarting its state from the
conductor at every bar, so what a bar holds has to come through z. Word dropout replaces a share
of the previous-step tokens with a blank in training, so the decoder cannot lean on them alone.
Within a step the four voices are written top down, each given the voices above it.
The export samples every token from the decoder, unrolled over the 64 steps: (z, one noise number per
token) -> int64 grid [B, T, 4].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from studio.layers.draws import inverse_cdf_draw, normal_to_uniform
from studio.layers.gru import gru_cell, run_gru

VOICES = 4


class FragmentEncoder(nn.Module):
    """grid [B, T, 4] -> (mean [B, z], logvar [B, z])."""

    def __init__(self, vocab: int, z_dim: int, hidden: int = 256, embed: int = 32):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.GRU(VOICES * embed, hidden, batch_first=True, bidirectional=True)
        self.to_stats = nn.Linear(2 * hidden, 2 * z_dim)

    def forward(self, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.embed(grid).flatten(2)  # (B, T, 4E)
        _, h = run_gru(self.rnn, x)  # h: (2, B, H), forward and backward final states
        mean, logvar = self.to_stats(torch.cat([h[0], h[1]], dim=1)).chunk(2, dim=1)
        return mean, logvar.clamp(-10.0, 6.0)


class HierarchicalDecoder(nn.Module):
    """Teacher-forced (z [B, z], grid [B, T, 4]) -> logits [B, T, 4, V]; ``sample(z, u)`` writes a grid from z alone."""

    def __init__(self, vocab: int, z_dim: int, bars: int, steps_per_bar: int, hidden: int = 256,
                 conductor: int = 256, embed: int = 32, word_dropout: float = 0.3):
        super().__init__()
        self.vocab, self.bars, self.steps_per_bar = vocab, bars, steps_per_bar
        self.start, self.blank = vocab, vocab + 1  # extra input ids: before the first step, a dropped token
        self.word_dropout = word_dropout
        self.conductor_init = nn.Linear(z_dim, conductor)
        self.conductor = nn.GRU(z_dim, conductor, batch_first=True)
        self.embed = nn.Embedding(vocab + 2, embed)
        self.bar_init = nn.Linear(conductor, hidden)
        self.rnn = nn.GRU(VOICES * embed + conductor, hidden, batch_first=True)
        # Within a step the voices are written top down, each hearing the ones above it (soprano first),
        # so a step's chord is chosen as a chord rather than as four independent guesses.
        self.above = nn.Linear(VOICES * embed, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, vocab) for _ in range(VOICES))

    def bar_embeddings(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, z] -> one conductor output per bar [B, bars, C]; the conductor reads z at every bar."""
        h = torch.tanh(self.conductor_init(z))  # (B, C)
        out = []
        for _ in range(self.bars):  # a handful of steps: unrolled, so training and export share one graph
            h = gru_cell(self.conductor, z, h)
            out.append(h)
        return torch.stack(out, dim=1)  # (B, bars, C)

    def forward(self, z: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        b, t, _ = grid.shape
        s = self.steps_per_bar
        prev = torch.cat([torch.full_like(grid[:, :1], self.start), grid[:, :-1]], dim=1)  # (B, T, 4) shifted
        if self.training and self.word_dropout > 0:
            drop = torch.rand(prev.shape, device=prev.device) < self.word_dropout
            drop[:, 0] = False
            prev = torch.where(drop, torch.full_like(prev, self.blank), prev)
        c = self.bar_embeddings(z).reshape(b * self.bars, -1)  # (B*bars, C)
        x = self.embed(prev).flatten(2).reshape(b * self.bars, s, -1)  # (B*bars, S, 4E): bars run in parallel
        x = torch.cat([x, c[:, None, :].expand(-1, s, -1)], dim=2)  # (B*bars, S, 4E + C)
        h, _ = self.rnn(x, torch.tanh(self.bar_init(c))[None])  # (B*bars, S, H)
        h = h.reshape(b, t, -1)  # (B, T, H)
        return torch.stack([self.voice_logits(h, grid, v) for v in range(VOICES)], dim=2)  # (B, T, 4, V)

    def voice_logits(self, h: torch.Tensor, step_tokens: torch.Tensor, voice: int) -> torch.Tensor:
        """Logits [..., V] of ``voice`` from the state h [..., H] and the step's tokens [..., 4] above it
        (the tokens of ``voice`` and below are not read: they are replaced by the blank)."""
        keep = torch.arange(VOICES, device=h.device) < voice  # (4,) the voices above
        above = torch.where(keep, step_tokens, torch.full_like(step_tokens, self.blank))  # (..., 4)
        return self.heads[voice](torch.tanh(h + self.above(self.embed(above).flatten(-2))))

    def sample(self, z: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Ancestral sampling: z [B, z] and one uniform number per token u [B, T, 4] -> grid [B, T, 4].

        The four voices of a step are drawn top down, each given the voices drawn above it."""
        return self.decode(z, lambda logits, t, v: inverse_cdf_draw(logits, u[:, t, v]))

    def decode(self, z: torch.Tensor, pick: Callable[[torch.Tensor, int, int], torch.Tensor]) -> torch.Tensor:
        """Unrolled decoding; ``pick(logits [B, V], step, voice)`` chooses each token [B]."""
        c = self.bar_embeddings(z)  # (B, bars, C)
        prev = torch.full((z.shape[0], VOICES), self.start, dtype=torch.long, device=z.device)
        out = []
        for bar in range(self.bars):
            h = torch.tanh(self.bar_init(c[:, bar]))  # (B, H): every bar restarts from the conductor
            for _ in range(self.steps_per_bar):
                x = torch.cat([self.embed(prev).flatten(1), c[:, bar]], dim=1)  # (B, 4E + C)
                h = gru_cell(self.rnn, x, h)
                step = torch.full_like(prev, self.blank)  # (B, 4) filled top down
                for v in range(VOICES):
                    token = pick(self.voice_logits(h, step, v), len(out), v)  # (B,)
                    step = torch.where(torch.arange(VOICES, device=z.device) == v, token[:, None], step)
                prev = step
                out.append(prev)
        return torch.stack(out, dim=1)  # (B, T, 4)


class SampledFragments(nn.Module):
    """Export head: z [B, latent + T*4] -> int64 grid [B, T, 4].

    The first ``latent`` columns are the VAE's latent; the other T*4 are standard-normal noise, one
    number per token, that each token is drawn with (the noise stays an input of the graph). Greedy
    decoding thins the music out: at a step where a voice might move or hold, holding is usually the
    single most likely token, so argmax holds nearly everywhere; drawing from p(x_t | x_<t, z) keeps
    the note density the model learned."""

    unrolled = True  # a loop over every token: exported by tracing (see studio.onnx.export)

    def __init__(self, decoder: HierarchicalDecoder, latent: int):
        super().__init__()
        self.decoder, self.latent = decoder, latent

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        latent, noise = z[:, : self.latent], z[:, self.latent :]  # (B, latent), (B, T*4)
        u = normal_to_uniform(noise).view(z.shape[0], -1, VOICES)  # (B, T, 4)
        return self.decoder.sample(latent, u)


class EncodeMean(nn.Module):
    """Export head for interpolation: grid [B, T, 4] -> the posterior mean [B, z]."""

    # the dynamo exporter decomposes a GRU into one step per token; tracing keeps ONNX's GRU operator
    unrolled = True

    def __init__(self, encoder: FragmentEncoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        return self.encoder(grid)[0]


def fragment_nll(grid: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Per-fragment reconstruction NLL in nats [B], summed over the T x 4 tokens."""
    return F.cross_entropy(logits.permute(0, 3, 1, 2), grid, reduction="none").sum((1, 2))
