"""What the app reads of a run, without torch (the app-only install has none): the frame file and the
square each 2-D data set is drawn in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from studio.registry.manifest import TRAINED_DIR

FRAME = "frame.json"
IMAGES_FILE = TRAINED_DIR / "_lab" / "fashion_mnist_lab.npz"  # the Lab's tiny image set
GRID = 48  # heatmap cells per side


def view_box(data: str) -> tuple[float, float]:
    """The square [lo, hi]^2 a data set is drawn in."""
    return (-6.0, 6.0) if data == "grid" else (-3.0, 3.0)


def grid_points(data: str) -> np.ndarray:
    """The heatmap's cell centres [GRID * GRID, 2], row by row from the bottom."""
    lo, hi = view_box(data)
    axis = np.linspace(lo, hi, GRID, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    return np.stack([xx.ravel(), yy.ravel()], 1)


def read_frame(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's latest frame, or None before the first."""
    try:
        return json.loads((Path(run_dir) / FRAME).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def run_log(run_dir: str | Path) -> list[dict[str, Any]]:
    """The run's training log so far ([] before the loop starts)."""
    from studio.training.logs import LOG, read_log

    try:
        return read_log(Path(run_dir) / "run" / LOG)
    except FileNotFoundError:
        return []
