"""A model's first samples, stored beside it, and a check that its ONNX file still draws them on any CPU.

A bitwise digest of the samples is a fingerprint of the CPU as much as of the model: ONNX Runtime picks
kernels by instruction set (AVX-512, AVX2, ...), and they round the last bits differently, so a few pixels
of a one-shot model land one level apart and, rarely, an autoregressive model's draw falls on the other
side of a probability boundary and redraws the rest of its sample. So the check compares the drawn head
with the stored one within the protocol's per-element tolerance, and lets a small share of samples be
redrawn. A different model file moves nearly every sample far past that.

    samples_head.npz: samples (the first HEAD_SAMPLES of the recorded draw), seed, sampling (JSON)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.atomic import atomic_write
from studio.evaluation.protocol import Generator, Protocol, check_sampling

HEAD_SAMPLES = 100
HEAD_FILE = "samples_head.npz"
#: Share of the head allowed to differ by more than the tolerance: an autoregressive draw that lands on the
#: other side of a probability boundary redraws the rest of its sample (none was seen on an AVX2-only CPU;
#: 3 in 100 are allowed).
MAX_REDRAWN = 0.03


@dataclass(frozen=True)
class HeadComparison:
    n: int  # samples compared
    redrawn: list[int]  # indexes of samples differing by more than the tolerance somewhere
    max_abs_diff: float  # over the samples within tolerance
    share_differing: float  # of the elements of the samples within tolerance, the share not bitwise equal

    @property
    def ok(self) -> bool:
        return len(self.redrawn) <= MAX_REDRAWN * self.n

    def describe(self) -> str:
        return (f"{len(self.redrawn)} of {self.n} samples differ by more than the tolerance "
                f"(allowed: {int(MAX_REDRAWN * self.n)}); within it, {100 * self.share_differing:.3f}% of elements "
                f"differ, by at most {self.max_abs_diff:g}")


def draw_head(generator: Generator, protocol: Protocol, seed: int, sampling: Mapping[str, Any] | None = None,
              n: int = HEAD_SAMPLES) -> np.ndarray:
    """The first ``n`` samples of the protocol's draw for ``seed`` and ``sampling``, as an array."""
    return np.asarray(protocol.draw(generator, n, seed, **check_sampling(protocol, sampling)))


def compare_heads(drawn: np.ndarray, stored: np.ndarray, tolerance: float) -> HeadComparison:
    """Per-sample comparison: a sample is redrawn where any element differs from the stored by > ``tolerance``."""
    if drawn.shape != stored.shape:
        raise ValueError(f"the drawn samples have shape {drawn.shape}, the stored ones {stored.shape}")
    if drawn.dtype.kind in "iufb":
        diff = np.abs(drawn.astype(np.float64) - stored.astype(np.float64)).reshape(len(drawn), -1)  # (N, D)
    else:  # text: characters either match or not
        diff = (drawn != stored).astype(np.float64).reshape(len(drawn), -1)
    redrawn = np.flatnonzero(diff.max(1) > tolerance)
    kept = np.delete(diff, redrawn, axis=0)
    return HeadComparison(n=len(drawn), redrawn=redrawn.tolist(), max_abs_diff=float(kept.max(initial=0.0)),
                          share_differing=float((kept > 0).mean()) if kept.size else 0.0)


def write_head(path: str | Path, samples: np.ndarray, seed: int, sampling: Mapping[str, Any] | None) -> None:
    """Store ``samples`` with the seed and sampling they were drawn with (write, then rename)."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to a name
            np.savez_compressed(f, samples=samples, seed=np.int64(seed), sampling=json.dumps(dict(sampling or {})))

    atomic_write(path, write)


def read_head(path: str | Path) -> tuple[np.ndarray, int, dict[str, Any]]:
    """(samples, seed, sampling) of a stored head."""
    with np.load(path, allow_pickle=False) as data:
        return data["samples"], int(data["seed"]), json.loads(str(data["sampling"]))


def check_head(generator: Generator, protocol: Protocol, path: str | Path) -> HeadComparison:
    """Draw what the stored head at ``path`` was drawn with and compare."""
    stored, seed, sampling = read_head(path)
    return compare_heads(draw_head(generator, protocol, seed, sampling, n=len(stored)), stored,
                         protocol.head_tolerance)

