"""2-D toy data sets and the mode-collapse readout of the GAN literature.

Ring: 8 Gaussians on a circle of radius 2, std 0.05 (the unrolled-GAN ring of Metz et al. 2017, whose std
0.02 leaves a minute of CPU training too little to place 80% of samples within 3 std).
Grid: 25 Gaussians on a 5x5 grid with spacing 2, std 0.05 (VEEGAN, PacGAN).
Moons: scikit-learn's two moons, scaled to the same range; no modes, so no mode readout.

Readout (VEEGAN / PacGAN protocol): a sample is **high quality** when it lies within 3 standard
deviations of its nearest mode; a mode is **covered** when at least ``MIN_SHARE`` of the samples are
high-quality samples of that mode (a stray sample or two does not count as capturing a mode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_SHARE = 0.01  # of all samples, within 3 std of a mode, for that mode to count as covered


@dataclass(frozen=True)
class Toy:
    name: str
    title: str
    centres: np.ndarray | None  # (M, 2) mode centres, None for a data set without modes
    std: float

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n points [n, 2], float32."""
        if self.centres is None:
            return two_moons(n, rng)
        picks = rng.integers(0, len(self.centres), n)
        return (self.centres[picks] + self.std * rng.standard_normal((n, 2))).astype(np.float32)

    def density(self, xy: np.ndarray) -> np.ndarray:
        """The true density at points [P, 2] -> [P] (moons: a smoothed estimate from 4,000 points)."""
        centres, std = (self.centres, self.std) if self.centres is not None else (
            two_moons(4000, np.random.default_rng(0)), 0.08)
        d2 = ((xy[:, None, :] - centres[None]) ** 2).sum(-1)  # (P, M)
        return np.exp(-d2 / (2 * std**2)).mean(1) / (2 * math.pi * std**2)


def ring(modes: int = 8, radius: float = 2.0) -> np.ndarray:
    angles = 2 * math.pi * np.arange(modes) / modes
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], 1).astype(np.float32)


def grid(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    axis = (np.arange(side) - (side - 1) / 2) * spacing
    return np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2).astype(np.float32)


def two_moons(n: int, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    """Two interleaved half circles, centred and scaled to about [-2, 2]."""
    upper = rng.random(n) < 0.5
    t = math.pi * rng.random(n)
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    points = np.stack([x - 0.5, y - 0.25], 1) * 1.6
    return (points + noise * 1.6 * rng.standard_normal((n, 2))).astype(np.float32)


TOYS: dict[str, Toy] = {
    "ring": Toy("ring", "Ring of 8 Gaussians", ring(), 0.05),
    "grid": Toy("grid", "Grid of 25 Gaussians", grid(), 0.05),
    "moons": Toy("moons", "Two moons", None, 0.0),
}


def mode_report(samples: np.ndarray, toy: Toy) -> dict[str, float | int]:
    """Modes covered and the high-quality share of ``samples`` [N, 2]; {} for a toy without modes."""
    if toy.centres is None or len(samples) == 0:
        return {}
    finite = np.isfinite(samples).all(1)
    d2 = ((samples[:, None, :] - toy.centres[None]) ** 2).sum(-1)  # (N, M)
    nearest = d2.argmin(1)
    good = finite & (np.sqrt(d2.min(1)) <= 3 * toy.std)
    per_mode = np.bincount(nearest[good], minlength=len(toy.centres))
    covered = int((per_mode >= max(1, math.ceil(MIN_SHARE * len(samples)))).sum())
    return {"modes_covered": covered, "modes": len(toy.centres), "high_quality": float(good.mean())}
