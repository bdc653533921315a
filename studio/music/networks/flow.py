"""Token grids for a flow, dequantized as music rather than as numbers: pitch height, onset, rest.

A grid [N, T, voices] of tokens (rest, hold, or a pitch) becomes three channels per cell:

- ``pitch``: the pitch index sounding there (0..45). Held steps carry the last onset's pitch; steps
  before a voice's first onset take that onset's pitch; a voice with no onset at all takes the middle
  of its range. Pitch is ordinal, so it is dequantized as height: (index + U[0, 1)) / 46 - 1/2;
  a near miss is then a neighbouring pitch, not a random one (as binary digits of the token would give).
- ``onset`` and ``rest``: 0/1 flags, each + U[0, 1) - 1/2.

The map from a grid to these integer triples is one-to-one (a hold is "no onset, no rest", and the
pitch read back only at onsets), so the uniformly dequantized density bounds the grid's NLL from
above; the pitch channel's cells are 1/46 wide, which the log-volume term accounts for. The layout
is a small image (3, T, voices): time down the rows, the four voices across, so Glow's 3x3
convolutions see a voice's neighbours in time and the chord around it.
Sampling reads the triple back: rest if the rest flag is set, else the pitch if the onset flag is
set, else a hold.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from studio.music.data import FIRST_PITCH_TOKEN, HOLD, NUM_PITCHES, PITCH_LOW, REST, VOICE_RANGES

PITCH, ONSET, RESTING = 0, 1, 2  # channel order


class GridFromChannels(nn.Module):
    """Export head: eps [N, D] -> int64 grid [N, T, voices] through the flow's inverse."""

    def __init__(self, flow: nn.Module, steps: int, voices: int):
        super().__init__()
        self.flow, self.steps, self.voices = flow, steps, voices

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.flow.from_noise(z).reshape(-1, 3, self.steps, self.voices)  # (N, 3, T, V)
        pitch = torch.floor((x[:, PITCH] + 0.5) * NUM_PITCHES).clamp(0, NUM_PITCHES - 1).to(torch.int64)  # (N, T, V)
        onset, rest = x[:, ONSET] >= 0.5, x[:, RESTING] >= 0.5  # the flag cells are [-1/2, 1/2) and [1/2, 3/2)
        held = torch.where(onset, pitch + FIRST_PITCH_TOKEN, torch.full_like(pitch, HOLD))
        return torch.where(rest, torch.full_like(pitch, REST), held)


class PitchGridDequantization:
    """Grids [N, T, voices] as (pitch, onset, rest) channels [N, 3, T, voices]; likelihoods per token."""

    unit = "bits/token"

    def __init__(self, steps: int, voices: int):
        self.steps, self.voices = steps, voices
        self.units = steps * voices
        self.dims = 3 * self.units
        self.cell_log_volume = -self.units * math.log(NUM_PITCHES)  # the flags' cells have volume 1
        # (V,) pitch index for a voice that never sounds in a fragment: the middle of its range
        self.silent_pitch = torch.tensor([(lo + hi) // 2 - PITCH_LOW for lo, hi in VOICE_RANGES[:voices]])

    def shape(self) -> tuple[int, int, int]:
        return (3, self.steps, self.voices)

    def channels(self, grid: torch.Tensor) -> torch.Tensor:
        """grid [N, T, V] tokens -> integer triples [N, 3, T, V] (pitch index, onset flag, rest flag)."""
        onset = grid >= FIRST_PITCH_TOKEN  # (N, T, V)
        t = torch.arange(grid.shape[1], device=grid.device).view(1, -1, 1)
        last = torch.where(onset, t, -1).cummax(dim=1).values  # (N, T, V) the latest onset so far, -1 if none
        first = torch.where(onset, t, grid.shape[1]).amin(dim=1, keepdim=True)  # (N, 1, V) T if none
        source = torch.where(last >= 0, last, first)  # (N, T, V) which step's pitch each cell carries
        index = (grid - FIRST_PITCH_TOKEN).clamp(min=0)  # (N, T, V) pitch index (meaningful at onsets)
        carried = torch.gather(index, 1, source.clamp(max=grid.shape[1] - 1))
        silent = self.silent_pitch.to(grid.device).view(1, 1, -1).expand_as(grid)
        pitch = torch.where(source < grid.shape[1], carried, silent)
        return torch.stack([pitch, onset.long(), (grid == REST).long()], dim=1)

    def dequantize(self, grid: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """grid [N, T, V] -> continuous [N, 3, T, V]: pitch (index + u) / 46 - 1/2, flags flag + u - 1/2."""
        c = self.channels(grid).float()
        noise = torch.rand_like(c) if noise is None else noise
        scale = torch.tensor([1.0 / NUM_PITCHES, 1.0, 1.0], device=c.device).view(1, 3, 1, 1)
        return (c + noise) * scale - 0.5

    def noise_like(self, grid: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return torch.rand((grid.shape[0], *self.shape()), generator=gen)

    def head(self, flow: nn.Module) -> nn.Module:
        return GridFromChannels(flow, self.steps, self.voices)
