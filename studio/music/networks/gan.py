"""A categorical GAN over 4-bar SATB fragments (MuseGAN-like temporal upsampling; WGAN-GP as for text).

The generator grows z into a time axis, coarse to fine (bars -> half bars -> beats -> eighths ->
16ths), and writes a softmax over the V tokens for every voice at every step. The critic reads
one-hot real grids and softmax fake ones through 1-D residual convolutions over time (the four
voices' token channels side by side), down to one score. Discrete samples are the argmax, taken
inside the exported graph.
"""

from __future__ import annotations

import torch
from torch import nn

from studio.layers.res1d import ResBlock1d

VOICES = 4


class FragmentGenerator(nn.Module):
    """z [B, z] -> token probabilities [B, 4V, T] (a softmax over V per voice per step)."""

    def __init__(self, z_dim: int, vocab: int, steps: int = 64, width: int = 128, blocks: int = 1,
                 coarse: int = 4):
        super().__init__()
        if steps % coarse or (steps // coarse) & (steps // coarse - 1):
            raise ValueError(f"steps {steps} must be {coarse} times a power of two")
        self.vocab, self.width, self.coarse = vocab, width, coarse
        self.inp = nn.Linear(z_dim, width * coarse)
        stages = []
        length = coarse
        while length < steps:  # each stage doubles the time resolution
            stages += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv1d(width, width, 3, padding=1),
                       *[ResBlock1d(width) for _ in range(blocks)]]
            length *= 2
        self.body = nn.Sequential(*stages, nn.ReLU())
        self.out = nn.Conv1d(width, VOICES * vocab, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.inp(z).view(-1, self.width, self.coarse)  # (B, W, bars)
        logits = self.out(self.body(h))  # (B, 4V, T)
        b, _, t = logits.shape
        return torch.softmax(logits.view(b, VOICES, self.vocab, t), dim=2).view(b, VOICES * self.vocab, t)


class FragmentCritic(nn.Module):
    """Token distributions [B, 4V, T] (one-hot for real grids) -> score [B]."""

    def __init__(self, vocab: int, steps: int = 64, width: int = 128, blocks: int = 1, coarse: int = 4):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(VOICES * vocab, width, 1)]
        length = steps
        while length > coarse:  # halve the time axis down to one column per bar
            layers += [*[ResBlock1d(width) for _ in range(blocks)], nn.LeakyReLU(0.2),
                       nn.Conv1d(width, width, 4, stride=2, padding=1)]
            length //= 2
        self.body = nn.Sequential(*layers, nn.LeakyReLU(0.2))
        self.out = nn.Linear(width * coarse, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x).flatten(1)).squeeze(1)  # (B,)


class OneHotGrid(nn.Module):
    """grid [B, T, 4] -> one-hot [B, 4V, T] float: how real fragments meet the critic."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        b, t, v = grid.shape
        one_hot = nn.functional.one_hot(grid, self.vocab).float()  # (B, T, 4, V)
        return one_hot.permute(0, 2, 3, 1).reshape(b, v * self.vocab, t)


class ArgmaxGrid(nn.Module):
    """Export head: z [B, z] -> int64 grid [B, T, 4], each cell the generator's most likely token."""

    def __init__(self, generator: FragmentGenerator):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        probs = self.generator(z)  # (B, 4V, T)
        b, _, t = probs.shape
        return probs.view(b, VOICES, self.generator.vocab, t).argmax(dim=2).transpose(1, 2)  # (B, T, 4)
