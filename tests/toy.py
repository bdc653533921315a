"""A toy generative process for loop tests: fits a 2-D Gaussian's mean, no data set needed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch import nn

from studio.families.base import GenerativeProcess, Phase
from studio.training.loop import LoopConfig, Trainer


class ToyProcess(GenerativeProcess):
    family = "toy"

    def __init__(self, nan_at_steps: tuple[int, ...] = (), step_sleep: float = 0.0):
        super().__init__(modality="toy")
        self.net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
        self.nan_at_steps = set(nan_at_steps)
        self.step_sleep = step_sleep
        self.previews = 0

    def loss(self, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        if self.step_sleep:
            time.sleep(self.step_sleep)
        out = self.net(batch)
        loss = (out - 3.0).pow(2).mean()
        if step in self.nan_at_steps:
            self.nan_at_steps.discard(step)  # inject once: a transient blow-up
            loss = loss * float("nan")
        return {"loss": loss, "out_mean": out.mean()}

    def phases(self) -> list[Phase]:
        return [Phase("toy", self.net, self.loss, lr=1e-2)]

    def write_preview(self, path: Path, step: int) -> None:
        self.previews += 1
        path.write_text(str(step))


def toy_batches(step: int) -> torch.Tensor:
    return torch.randn(16, 2, generator=torch.Generator().manual_seed(step))


def toy_loop(steps: int = 30, ckpt_every: int = 10, **kw: float) -> LoopConfig:
    return LoopConfig(steps=steps, ckpt_every=ckpt_every, log_every=1, preview_every=10, warmup_steps=2, **kw)


if __name__ == "__main__":
    # Used by the kill/resume tests: python tests/toy.py OUT_DIR STEPS (or under torchrun, one per rank)
    from studio.training import distributed

    out, steps = sys.argv[1], int(sys.argv[2])
    world = distributed.world_from_env()
    distributed.start(world, "cpu")
    torch.manual_seed(0)
    Trainer(ToyProcess(step_sleep=0.05), toy_batches, toy_loop(steps), out, show_progress=False, world=world).fit()
    distributed.stop(world)
