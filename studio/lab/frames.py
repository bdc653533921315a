"""What the app shows of a live run: a frame of samples, a heatmap and the collapse readout, written as
JSON by the worker (atomically, a few times a second) and read by the app.

Points: 1,000 samples from fixed noise (so a frame-to-frame change is the model's, not the noise's), the
readout on 2,000, and on a 48x48 grid either the critic's score (GAN) or the exact log-density (flow).
Images: 16 samples from fixed noise and the reference classifier's class histogram of 500.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from studio.atomic import atomic_write_text
from studio.evaluation.classes import class_readout
from studio.families.base import GenerativeProcess
from studio.lab.toys import TOYS, mode_report
from studio.lab.view import FRAME, GRID, grid_points

MIN_INTERVAL_S = 0.4  # the tab polls every 0.4 s: a frame more often is never seen
#: At most this share of a run's time goes to drawing frames: on a slow host a frame costs more, so frames come
#: less often and the steps, which decide what the run shows, keep their pace.
MAX_FRAME_SHARE = 0.1
SHOWN_POINTS, SCORED_POINTS = 1_000, 2_000
SHOWN_IMAGES, SCORED_IMAGES = 16, 500


@torch.no_grad()
def heatmap(process: GenerativeProcess, data: str) -> list[list[float]] | None:
    """The critic's score (GAN) or the log-density (flow) on the view grid [GRID][GRID]; None for a VAE."""
    points = torch.from_numpy(grid_points(data))
    if process.family == "gan":
        critic = process.discriminator
        pack = getattr(critic, "pack", 1)
        was = critic.training
        critic.eval()
        values = critic(points.repeat_interleave(pack, 0))  # each point judged as a pack of its copies
        critic.train(was)
    elif process.family == "flow":
        values = process.flow.log_prob(points).clamp(min=-30.0)
    else:
        return None
    values = torch.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    return np.round(values.reshape(GRID, GRID).numpy().astype(float), 3).tolist()


class FrameWriter:
    """Stands in for the process's ``write_preview(path, step)``: a frame.json beside the run's log, at
    most every ``MIN_INTERVAL_S`` and at most ``MAX_FRAME_SHARE`` of the time (the loop asks every few steps)."""

    def __init__(self, process: GenerativeProcess, spec: dict[str, Any], run_dir: Path,
                 classify: Callable[[np.ndarray], np.ndarray] | None = None):
        self.process, self.spec, self.run_dir = process, spec, Path(run_dir)
        self.classify = classify  # uint8 images [N, 28, 28, 1] -> predicted classes [N]
        self.next_at = 0.0
        self.step = 0
        self.started = time.monotonic()
        gen = torch.Generator().manual_seed(12345)
        n = SCORED_IMAGES if spec["data"] == "images" else SCORED_POINTS
        self.noise = torch.randn(n, process.z_dim, generator=gen)  # fixed noise: frames differ by the model

    def __call__(self, path: Path, step: int) -> None:
        now = time.monotonic()
        if now < self.next_at:
            return
        self.write(step)
        cost = time.monotonic() - now
        self.next_at = now + max(MIN_INTERVAL_S, cost / MAX_FRAME_SHARE)

    @torch.no_grad()
    def write(self, step: int) -> None:
        self.step = step
        samples = self.process.export_module().eval()(self.noise).float()
        samples = torch.nan_to_num(samples, nan=0.0, posinf=1e3, neginf=-1e3).numpy()
        frame: dict[str, Any] = {"elapsed": round(time.monotonic() - self.started, 2), "step": self.step}
        if self.spec["data"] == "images":
            images = np.clip(np.round((samples + 1) * 127.5), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
            frame["images"] = images[:SHOWN_IMAGES].tolist()
            if self.classify is not None:
                frame["readout"] = class_readout(self.classify(images[..., None]), 10)
        else:
            points = np.clip(samples, -50, 50)
            frame["points"] = np.round(points[:SHOWN_POINTS], 3).tolist()
            frame["readout"] = mode_report(points, TOYS[self.spec["data"]])
            frame["heatmap"] = heatmap(self.process, self.spec["data"])
        atomic_write_text(self.run_dir / FRAME, json.dumps(frame))
