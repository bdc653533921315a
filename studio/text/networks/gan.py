"""A character-level line GAN after Gulrajani et al. 2017 (WGAN-GP, section 5).

The generator turns z into a softmax over the characters at every position of a line; the
critic reads one-hot real lines and fake ones through 1-D residual convolutions. Discrete samples
are the argmax, taken inside the exported graph.

With ``straight_through`` the critic sees each fake line as the one-hot of its argmax (the line the
exported graph writes), and the generator's gradient flows through the softmax as if it had been
the identity (Bengio et al. 2013). A critic that reads softmax fakes against one-hot reals can tell
them apart by how peaked they are alone, and the generator spends its updates sharpening its
outputs instead of learning to spell.
"""

from __future__ import annotations

import torch
from torch import nn

from studio.layers.res1d import ResBlock1d


class LineGenerator(nn.Module):
    """z [B, z] -> character probabilities [B, V, T]."""

    def __init__(self, z_dim: int, vocab: int, length: int, width: int = 128, blocks: int = 4,
                 straight_through: bool = False):
        super().__init__()
        self.width, self.length = width, length
        self.inp = nn.Linear(z_dim, width * length)
        self.blocks = nn.Sequential(*[ResBlock1d(width) for _ in range(blocks)])
        self.out = nn.Conv1d(width, vocab, 1)
        self.straight_through = straight_through

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.inp(z).view(-1, self.width, self.length)  # (B, W, T)
        probs = torch.softmax(self.out(self.blocks(h)), dim=1)  # (B, V, T)
        if not (self.straight_through and self.training):
            return probs
        hard = nn.functional.one_hot(probs.argmax(dim=1), probs.shape[1]).transpose(1, 2).to(probs.dtype)
        return hard + probs - probs.detach()  # the one-hot forward, the softmax's gradient backward


class LineCritic(nn.Module):
    """Character distributions [B, V, T] (one-hot for real lines) -> score [B]."""

    def __init__(self, vocab: int, length: int, width: int = 128, blocks: int = 4):
        super().__init__()
        self.inp = nn.Conv1d(vocab, width, 1)
        self.blocks = nn.Sequential(*[ResBlock1d(width) for _ in range(blocks)])
        self.out = nn.Linear(width * length, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.inp(x)).flatten(1)).squeeze(1)


class OneHotLines(nn.Module):
    """ids [B, T] -> one-hot [B, V, T] float: how real lines meet the critic."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(ids, self.vocab).transpose(1, 2).float()


class ArgmaxLines(nn.Module):
    """Export head: z [B, z] -> int64 character ids [B, T]."""

    def __init__(self, generator: LineGenerator):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z).argmax(dim=1)  # (B, T)
