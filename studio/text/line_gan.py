"""The line GAN's process: WGAN-GP with Press et al.'s (2017) teacher helping for a left-to-right generator.

Part of every fake batch is real line openings, each continued by the one character the generator
writes after it; the matching real lines are cut after the same character. The critic then compares
"real opening + real next character" with "real opening + generated next character", which tells the
generator what to write next in a context it does reach, while the rest of the batch (written freely
from noise alone) keeps it judged on whole lines of its own. The generator's objective stays purely
adversarial: the real characters are its input, never a likelihood target.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from studio.families.gan import GANProcess


class TeacherHelpedLineGAN(GANProcess):
    def __init__(self, *args: Any, teacher_help: float = 0.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not 0.0 <= teacher_help <= 1.0:
            raise ValueError(f"teacher_help is the helped share of each fake batch, 0..1, not {teacher_help}")
        if teacher_help and not hasattr(self.generator, "continue_openings"):
            raise ValueError("teacher helping needs a generator that writes left to right "
                             "(the recurrent line generator); set teacher_help to 0 for the convolutional one")
        self.teacher_help = teacher_help

    def judged_pair(self, batch: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        helped = int(round(self.teacher_help * batch.shape[0]))
        if helped == 0:
            return super().judged_pair(batch, step)
        n, length = batch.shape  # ids (N, T)
        real = self._judged(self.real_view(batch), step)  # (N, V, T)
        free = self._fake(n - helped, batch.device, step) if helped < n else real[:0]
        opening = self.curriculum.judged_length(step) if self.curriculum is not None else length
        ids = batch[:helped]  # (h, T)
        ends = torch.randint(0, opening, (helped,), device=batch.device)  # the position the generator writes
        written = self.generator.continue_openings(self._noise(helped, batch.device), ids, int(ends.max()) + 1)
        written = nn.functional.pad(written, (0, length - written.shape[2]))  # (h, V, T)
        position = torch.arange(length, device=batch.device)[None, None, :]  # (1, 1, T)
        before, at = position < ends[:, None, None], position == ends[:, None, None]  # (h, 1, T)
        line = self.real_view(ids)  # (h, V, T)
        real_helped = line * (before | at)
        fake_helped = line * before + written * at
        return torch.cat([real_helped, real[helped:]]), torch.cat([fake_helped, free])
