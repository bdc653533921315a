"""A character-level line GAN after Gulrajani et al. 2017 (WGAN-GP, section 5).

The generator turns z into a softmax over the characters at every position of a line; the
critic reads one-hot real lines and fake ones through 1-D residual convolutions. Discrete samples
are the argmax, taken inside the exported graph.

With ``straight_through`` the critic sees each fake line as the one-hot of its argmax (the line the
exported graph writes), and the generator's gradient flows through the softmax as if it had been
the identity (Bengio et al. 2013). A critic that reads softmax fakes against one-hot reals can tell
them apart by how peaked they are alone, and the generator spends its updates sharpening its
outputs instead of learning to spell.

``RecurrentLineGenerator`` writes one character at a time and reads the character it last wrote, as in
Press et al. 2017 ("Language generation with recurrent GANs without pre-training"); ``LengthCurriculum``
is their curriculum: the critic first judges only each line's opening characters, and the judged length
grows during training, so the generator learns to spell short stretches before whole lines.
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


class RecurrentLineGenerator(nn.Module):
    """z [B, z_dim + T * V] -> character scores [B, V, T], written left to right.

    A GRU cell starts from a state made from the first ``z_dim`` columns of z (the line's "style") and, at
    each position, reads them and the one-hot of the character it wrote last. It writes a character by
    the Gumbel-max trick: the argmax of its logits plus Gumbel noise made from that position's V noise
    columns (Gaussian columns through the normal CDF: u = Phi(x), g = -log(-log u)), which is an exact
    draw from softmax(logits) at unscaled noise. A deterministic writer (argmax of the logits alone)
    falls into loops like greedy decoding does ("wow wow wow"); drawing is what keeps lines varied.
    Noise scaled by T < 1 pulls every u towards 1/2, so zero noise writes the likeliest character.

    Returns softmax(logits + g), whose argmax is the written character; with ``straight_through`` while
    training it returns (and feeds back) that character's one-hot carrying the softmax's gradient (the
    straight-through Gumbel estimator, Jang et al. 2017).
    """

    def __init__(self, z_dim: int, vocab: int, length: int, hidden: int = 512, straight_through: bool = True):
        super().__init__()
        self.z_dim, self.vocab, self.length = z_dim, vocab, length
        self.start = nn.Linear(z_dim, hidden)
        self.cell = nn.GRUCell(vocab + z_dim, hidden)
        self.out = nn.Linear(hidden, vocab)
        self.straight_through = straight_through

    writes_openings = True  # forward(z, length) writes only a line's first characters

    @staticmethod
    def noise_dim(z_dim: int, vocab: int, length: int) -> int:
        """The width of the noise it reads: the style columns, then V columns per character."""
        return z_dim + length * vocab

    def _split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z [B, z_dim + T*V] -> (style [B, z_dim], Gumbel noise [B, T, V])."""
        style, draws = z[:, : self.z_dim], z[:, self.z_dim :].reshape(-1, self.length, self.vocab)
        u = (0.5 * (1 + torch.erf(draws * 0.7071067811865476))).clamp(1e-6, 1 - 1e-6)  # Phi(x), (B, T, V)
        return style, -torch.log(-torch.log(u))

    def _write(self, style: torch.Tensor, gumbel: torch.Tensor, h: torch.Tensor,
               last: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One character: (state, last character [B, V]) -> (state, softmax(logits + g) [B, V], its one-hot)."""
        h = self.cell(torch.cat([last, style], dim=1), h)  # (B, H)
        probs = torch.softmax(self.out(h) + gumbel, dim=1)  # (B, V)
        hard = nn.functional.one_hot(probs.argmax(dim=1), self.vocab).to(probs.dtype)  # (B, V)
        if self.straight_through and self.training:
            hard = hard + probs - probs.detach()  # the one-hot forward, the softmax's gradient backward
        return h, probs, hard

    def forward(self, z: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """``length``: write only the line's first characters (a curriculum's judged opening); default all."""
        style, gumbel = self._split(z)
        h = torch.tanh(self.start(style))  # (B, H)
        last = z.new_zeros(z.shape[0], self.vocab)  # (B, V): nothing written yet
        written = []
        for t in range(self.length if length is None else min(length, self.length)):
            h, probs, last = self._write(style, gumbel[:, t], h, last)
            written.append(last if self.straight_through and self.training else probs)
        return torch.stack(written, dim=2)  # (B, V, T) or (B, V, length)

    def continue_openings(self, z: torch.Tensor, ids: torch.Tensor, length: int) -> torch.Tensor:
        """What it writes at each of the first ``length`` positions after the real characters before it.

        z [B, z_dim + T*V], ids [B, T] -> [B, V, length], one-hots while training straight-through, else
        probabilities: Press et al.'s "teacher helping", where a real opening leads the generator in.
        """
        style, gumbel = self._split(z)
        h = torch.tanh(self.start(style))  # (B, H)
        real = nn.functional.one_hot(ids, self.vocab).to(z.dtype)  # (B, T, V)
        last = z.new_zeros(z.shape[0], self.vocab)  # (B, V)
        written = []
        for t in range(min(length, self.length)):
            h, probs, hard = self._write(style, gumbel[:, t], h, last)
            written.append(hard if self.straight_through and self.training else probs)
            last = real[:, t]
        return torch.stack(written, dim=2)  # (B, V, length)


class LengthCurriculum(nn.Module):
    """(lines [B, V, T], step) -> the same lines with every position past the judged length zeroed.

    A generator that can write just the opening (``RecurrentLineGenerator(z, length)``) is asked for
    ``judged_length(step)`` characters only, which saves the time of writing what no one judges.

    The judged length grows linearly from ``start`` characters to the whole line over ``grow_steps``
    training steps. Real and fake lines are cut alike, so the critic compares like with like and the
    generator is judged (and gets gradient) only on the opening it is being taught.
    """

    def __init__(self, start: int, length: int, grow_steps: int):
        super().__init__()
        if not 1 <= start <= length:
            raise ValueError(f"the curriculum's start must be 1..{length} characters, not {start}")
        self.start, self.length, self.grow_steps = start, length, grow_steps

    def judged_length(self, step: int) -> int:
        if self.grow_steps <= 0 or step >= self.grow_steps:
            return self.length
        return self.start + (self.length - self.start) * step // self.grow_steps

    def forward(self, lines: torch.Tensor, step: int) -> torch.Tensor:
        """lines [B, V, T] -> [B, V, length]; an opening shorter than the line is padded with zeros."""
        keep = self.judged_length(step)
        if lines.shape[2] < self.length:  # a generator that wrote only the opening
            return nn.functional.pad(lines[:, :, :keep], (0, self.length - min(keep, lines.shape[2])))
        if keep >= lines.shape[2]:
            return lines
        mask = torch.arange(lines.shape[2], device=lines.device) < keep  # (T,)
        return lines * mask.to(lines.dtype)


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
