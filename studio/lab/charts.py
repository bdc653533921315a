"""The Lab's live pictures: samples over the true density (with the critic's view or the flow's density),
an image grid, and the class histogram. Each returns (figure or image, one-line text for screen readers)."""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.lab.toys import TOYS
from studio.lab.view import grid_points, view_box
from studio.ui.charts import PALETTE, _figure

_TRUE_DENSITY: dict[str, np.ndarray] = {}


def true_density(data: str) -> np.ndarray:
    """The data's density on the view grid [GRID, GRID], computed once per data set."""
    if data not in _TRUE_DENSITY:
        points = grid_points(data)
        side = int(np.sqrt(len(points)))
        _TRUE_DENSITY[data] = TOYS[data].density(points).reshape(side, side)
    return _TRUE_DENSITY[data]


def points_figure(frame: dict[str, Any] | None, data: str, family: str) -> tuple[object, str]:
    """Samples (dots) over the true density (grey); a GAN's critic score or a flow's log-density as contours."""
    lo, hi = view_box(data)
    fig = _figure(4.6, 4.4)
    ax = fig.subplots()
    ax.imshow(np.log1p(true_density(data)), extent=(lo, hi, lo, hi), origin="lower", cmap="Greys", alpha=0.6)
    text = "No samples yet."
    if frame and frame.get("points") is not None:
        heat = frame.get("heatmap")
        if heat is not None:
            axis = np.linspace(lo, hi, len(heat))
            label = "critic score" if family == "gan" else "model log-density"
            cs = ax.contourf(axis, axis, np.asarray(heat), levels=12, cmap="RdBu_r" if family == "gan" else "viridis",
                             alpha=0.35)
            fig.colorbar(cs, ax=ax, shrink=0.7, label=label)
        pts = np.asarray(frame["points"])
        inside = ((pts >= lo) & (pts <= hi)).all(1)
        ax.scatter(pts[inside, 0], pts[inside, 1], s=3, color=PALETTE[0], alpha=0.7, linewidths=0)
        outside = int((~inside).sum())
        title = f"step {frame.get('step', 0):,}" + (f" ({outside} samples off the chart)" if outside else "")
        ax.set_title(title, fontsize=9)
        text = f"Step {frame.get('step', 0):,}: {len(pts):,} samples drawn over the data's density. " + readout_text(
            frame, data)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    return fig, text


def image_grid(frame: dict[str, Any] | None) -> np.ndarray | None:
    """16 samples as one 4x4 uint8 picture [4 * 28 + 5 gaps, ...], enlarged 3x for the screen."""
    if not frame or frame.get("images") is None:
        return None
    images = np.asarray(frame["images"], dtype=np.uint8)  # (16, 28, 28)
    rows = [np.concatenate([np.pad(im, 1, constant_values=255) for im in images[r * 4 : r * 4 + 4]], 1)
            for r in range(len(images) // 4)]
    picture = np.concatenate(rows, 0)
    return np.kron(picture, np.ones((3, 3), dtype=np.uint8))


def class_bars(frame: dict[str, Any] | None, class_names: tuple[str, ...]) -> tuple[object, str]:
    fig = _figure(4.6, 2.4)
    ax = fig.subplots()
    readout = (frame or {}).get("readout") or {}
    hist = readout.get("class_histogram")
    if not hist:
        ax.text(0.5, 0.5, "No samples yet.", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig, "No samples yet."
    ax.bar(range(len(hist)), [100 * h for h in hist], color=PALETTE[0])
    ax.axhline(100 / len(hist), color="black", linewidth=1, linestyle="--", label="uniform (10%)")
    ax.set_xticks(range(len(hist)), class_names, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("% of samples", fontsize=8)
    ax.set_ylim(0, max(100 / len(hist) * 2, 100 * max(hist) * 1.1))
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, readout_text(frame, "images")


def readout_text(frame: dict[str, Any] | None, data: str) -> str:
    """The collapse readout in words."""
    readout = (frame or {}).get("readout") or {}
    if data == "images":
        if "class_histogram" not in readout:
            return ""
        verdict = "classes unbalanced or missing (collapse)" if readout["mode_collapse"] else "all classes present"
        return (f"The reference classifier finds {readout['classes_covered']} of 10 classes; KL to uniform "
                f"{readout['kl_to_uniform']:.2f}: {verdict}.")
    if "modes_covered" not in readout:
        return "Two moons has no separate modes to count; compare the dots with the grey shape."
    covered, modes = readout["modes_covered"], readout["modes"]
    verdict = "every mode" if covered == modes else ("collapsed" if covered <= modes // 2 else "some modes missing")
    return (f"Modes covered: {covered} of {modes} ({verdict}); high-quality samples (within 3 std of a mode): "
            f"{100 * readout['high_quality']:.0f}%.")
