"""The Lab's live pictures: samples over the true density (with the critic's view or the flow's density),
an image grid, the class histogram and the curves as tables for the browser's own line charts. Each picture
comes with a one-line text for screen readers."""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.lab.toys import TOYS
from studio.lab.view import grid_points, view_box
from studio.ui.charts import PALETTE

_TRUE_DENSITY: dict[str, np.ndarray] = {}


def true_density(data: str) -> np.ndarray:
    """The data's density on the view grid [GRID, GRID], computed once per data set."""
    if data not in _TRUE_DENSITY:
        points = grid_points(data)
        side = int(np.sqrt(len(points)))
        _TRUE_DENSITY[data] = TOYS[data].density(points).reshape(side, side)
    return _TRUE_DENSITY[data]


# -- the live samples picture, drawn with numpy: matplotlib takes ~150 ms a frame on 2 cores, which the poll
# -- (2.5 a second) would spend holding the app's interpreter; this takes a few milliseconds ------------------
SIDE = 384  # pixels per side of the samples picture
_CMAPS: dict[str, Any] = {}


def _hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float32)


def _colormap(name: str) -> Any:
    if name not in _CMAPS:
        from matplotlib import colormaps  # the colour tables only; no figure is made

        _CMAPS[name] = colormaps[name]
    return _CMAPS[name]


def _upsample(cells: np.ndarray) -> np.ndarray:
    """A [G, G] field sampled at cell centres (rows from the bottom) as [SIDE, SIDE] (rows from the top),
    interpolated linearly along each axis."""
    g = len(cells)
    at = np.linspace(0, g - 1, SIDE)
    rows = np.stack([np.interp(at, np.arange(g), column) for column in cells[::-1].T], 1)  # [SIDE, G]
    return np.stack([np.interp(at, np.arange(g), row) for row in rows])  # [SIDE, SIDE]


def _bands(values: np.ndarray, levels: int = 12) -> np.ndarray:
    """``values`` scaled to [0, 1] in ``levels`` flat bands, as filled contours show them."""
    lo, hi = np.percentile(values, [2, 98])
    scaled = np.clip((values - lo) / max(hi - lo, 1e-9), 0, 1)
    return np.floor(scaled * (levels - 1) + 0.5) / (levels - 1)


def points_picture(frame: dict[str, Any] | None, data: str, family: str) -> tuple[np.ndarray, str]:
    """Samples (blue dots) over the data's density (grey), with a GAN's critic score (red = judged real,
    blue = judged fake) or a flow's log-density (yellow = high) as banded contours: uint8 [SIDE, SIDE, 3]."""
    lo, hi = view_box(data)
    density = np.log1p(true_density(data))
    canvas = np.full((SIDE, SIDE, 3), 255.0, dtype=np.float32)
    canvas -= 0.6 * 255 * (_upsample(density / density.max()))[..., None]  # grey where the data is
    text = "No samples yet."
    if frame and frame.get("heatmap") is not None:
        cmap = _colormap("RdBu_r" if family == "gan" else "viridis")
        tint = cmap(_upsample(_bands(np.asarray(frame["heatmap"], dtype=np.float32))))[..., :3] * 255
        canvas = 0.65 * canvas + 0.35 * tint
    if frame and frame.get("points") is not None:
        step = int(frame.get("step", 0))
        pts = np.asarray(frame["points"], dtype=np.float32).reshape(-1, 2)
        inside = ((pts >= lo) & (pts <= hi)).all(1)
        cols = ((pts[inside, 0] - lo) / (hi - lo) * (SIDE - 1)).astype(int)
        rows = ((hi - pts[inside, 1]) / (hi - lo) * (SIDE - 1)).astype(int)
        dots = np.zeros((SIDE, SIDE), dtype=bool)
        for dr in (-1, 0, 1):  # 3x3-pixel dots
            for dc in (-1, 0, 1):
                dots[np.clip(rows + dr, 0, SIDE - 1), np.clip(cols + dc, 0, SIDE - 1)] = True
        canvas[dots] = 0.25 * canvas[dots] + 0.75 * _hex_rgb(PALETTE[0])
        outside = int((~inside).sum())
        text = (f"Step {step:,}: {len(pts):,} samples (blue dots) over the data's density (grey)"
                + (f"; {outside} fell outside the picture" if outside else "") + ". " + readout_text(frame, data))
    picture = canvas.clip(0, 255).astype(np.uint8)
    picture[[0, -1], :] = 0  # a black frame
    picture[:, [0, -1]] = 0
    return picture, text


def image_grid(frame: dict[str, Any] | None) -> np.ndarray | None:
    """16 samples as one 4x4 uint8 picture [4 * 28 + 5 gaps, ...], enlarged 3x for the screen."""
    if not frame or frame.get("images") is None:
        return None
    images = np.asarray(frame["images"], dtype=np.uint8)  # (16, 28, 28)
    rows = [np.concatenate([np.pad(im, 1, constant_values=255) for im in images[r * 4 : r * 4 + 4]], 1)
            for r in range(len(images) // 4)]
    picture = np.concatenate(rows, 0)
    return np.kron(picture, np.ones((3, 3), dtype=np.uint8))


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


# -- the curves and the class histogram as tables: the browser draws them (Gradio's native plots), so a poll
# -- costs the app a table, not a matplotlib figure (300-500 ms each on 2 cores) ------------------------------
LIVE_CURVES = ("losses", "gradient norms", "D(real) and D(fake)", "active latent units", "learning-rate multiplier")
MAX_POINTS = 300  # per series: a 90-second run logs ~1,000 steps; the chart needs no more than this


def curve_tables(curves: dict[str, Any]) -> list[tuple[str, Any]]:
    """(title, table with columns step, value, series) for each of LIVE_CURVES, empty where the run logs no
    such series; gradient norms as log10, because their spikes span decades."""
    import pandas as pd

    from studio.ui.charts import CURVE_PANELS

    series = (curves or {}).get("series", {})
    wanted = {title: test for title, test, _ in CURVE_PANELS}
    tables = []
    for title in LIVE_CURVES:
        rows = []
        for name in (k for k in series if wanted[title](k)):
            points = series[name][:: -(-len(series[name]) // MAX_POINTS) or 1]
            for step, value, *_ in points:
                if title == "gradient norms":
                    value = float(np.log10(max(value, 1e-12)))
                rows.append((step, value, name))
        label = "gradient norms (log10)" if title == "gradient norms" else title
        tables.append((label, pd.DataFrame(rows, columns=["step", "value", "series"])))
    return tables


def class_table(frame: dict[str, Any] | None, class_names: tuple[str, ...]) -> tuple[Any, str]:
    """The reference classifier's class histogram of the run's samples, in % (table: class, percent)."""
    import pandas as pd

    hist = ((frame or {}).get("readout") or {}).get("class_histogram") or []
    table = pd.DataFrame({"class": list(class_names)[: len(hist)], "percent": [100 * h for h in hist]})
    return table, readout_text(frame, "images") if hist else "No samples yet."
