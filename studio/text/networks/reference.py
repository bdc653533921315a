"""The frozen reference character model that scores every text generator.

A causal convolutional language model over one line (dilations 1, 2, 4, 8, 16: it sees up to
63 characters back, so the whole line before each position). Its mean hidden state is the line's feature vector (for the
Fréchet distance); its next-character probabilities give the perplexity of generated lines.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_DIM = 128


class CausalBlock(nn.Module):
    def __init__(self, width: int, dilation: int, kernel: int = 3):
        super().__init__()
        self.pad = (kernel - 1) * dilation  # left padding only: position t never sees t+1
        self.conv = nn.Conv1d(width, 2 * width, kernel, dilation=dilation)
        self.out = nn.Conv1d(width, width, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # (B, W, T) -> (B, W, T)
        a, b = self.conv(F.pad(h, (self.pad, 0))).chunk(2, dim=1)
        return h + self.out(torch.tanh(a) * torch.sigmoid(b))  # gated residual, as in WaveNet


class CharReference(nn.Module):
    """ids [B, T] -> (logits [B, T, V] for each position's character given the ones before, features [B, F])."""

    def __init__(self, vocab: int, width: int = FEATURE_DIM, embed: int = 64,
                 dilations: tuple[int, ...] = (1, 2, 4, 8, 16)):
        super().__init__()
        self.vocab = vocab
        self.embed = nn.Embedding(vocab + 1, embed)  # id ``vocab`` is the start-of-line marker
        self.inp = nn.Conv1d(embed, width, 1)
        self.blocks = nn.ModuleList(CausalBlock(width, d) for d in dilations)
        self.head = nn.Conv1d(width, vocab, 1)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        start = torch.full_like(ids[:, :1], self.vocab)
        shifted = torch.cat([start, ids[:, :-1]], dim=1)  # (B, T): position t reads characters < t
        h = self.inp(self.embed(shifted).transpose(1, 2))  # (B, W, T)
        for block in self.blocks:
            h = block(h)
        logits = self.head(h).transpose(1, 2)  # (B, T, V)
        features = h.mean(dim=2)  # (B, W)
        return logits, features


class ReferenceScorer(nn.Module):
    """The exported form: text [B, T] int64 -> (logprob [B, T] of each actual character, features [B, F])."""

    def __init__(self, model: CharReference):
        super().__init__()
        self.model = model

    def forward(self, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, features = self.model(text)
        logprob = torch.log_softmax(logits, dim=-1).gather(2, text.unsqueeze(2)).squeeze(2)  # (B, T)
        return logprob, features
