"""The Lab's live pictures: dots land where the samples are, and the curve tables carry what the run logged."""

from __future__ import annotations

import numpy as np

from studio.lab import charts
from studio.lab.view import view_box

BLUE = np.array([0x00, 0x72, 0xB2])


def blue_pixels(picture: np.ndarray) -> np.ndarray:
    """(row, col) of pixels close to the dots' colour."""
    return np.argwhere(np.abs(picture.astype(int) - BLUE).sum(-1) < 90)


def test_dots_land_at_their_samples_and_nowhere_else():
    lo, hi = view_box("ring")
    frame = {"step": 7, "points": [[2.0, 0.0]] * 50, "readout": {"modes_covered": 1, "modes": 8, "high_quality": 1.0}}
    picture, text = charts.points_picture(frame, "ring", "vae")
    assert picture.shape == (charts.SIDE, charts.SIDE, 3) and picture.dtype == np.uint8
    rows, cols = blue_pixels(picture).T
    expect_col = (2.0 - lo) / (hi - lo) * (charts.SIDE - 1)
    assert abs(cols.mean() - expect_col) < 2 and abs(rows.mean() - (charts.SIDE - 1) / 2) < 2
    assert cols.max() - cols.min() <= 2  # one 3x3 dot
    assert "Modes covered: 1 of 8 (collapsed)" in text


def test_samples_off_the_picture_are_counted_not_drawn():
    frame = {"step": 1, "points": [[50.0, 50.0], [0.0, 0.0]], "readout": {}}
    picture, text = charts.points_picture(frame, "moons", "flow")
    assert "1 fell outside the picture" in text
    assert len(blue_pixels(picture)) <= 9


def test_the_critic_heatmap_tints_the_picture():
    plain, _ = charts.points_picture({"step": 1, "points": [], "readout": {}}, "ring", "gan")
    heat = np.linspace(-1, 1, 48 * 48).reshape(48, 48)
    tinted, _ = charts.points_picture({"step": 1, "points": [], "readout": {}, "heatmap": heat.tolist()}, "ring", "gan")
    red_minus_blue = tinted[..., 0].astype(int) - tinted[..., 2].astype(int)
    assert red_minus_blue[5].mean() > 20 > -20 > red_minus_blue[-5].mean()  # real (high) at the top, fake below
    assert np.abs(plain[..., 0].astype(int) - plain[..., 2].astype(int)).max() < 5  # grey only


def test_curve_tables_log_scale_gradients_and_stay_small():
    series = {"g/loss": [[s, 0.5] for s in range(2_000)], "d/grad_norm": [[s, 100.0] for s in range(10)],
              "lr_mult": [[0, 1.0], [5, 0.5]]}
    tables = dict(charts.curve_tables({"series": series}))
    assert len(tables["losses"]) <= charts.MAX_POINTS + 1 and set(tables["losses"]["series"]) == {"g/loss"}
    assert tables["gradient norms (log10)"]["value"].tolist() == [2.0] * 10
    assert tables["learning-rate multiplier"]["value"].tolist() == [1.0, 0.5]
    assert len(tables["D(real) and D(fake)"]) == 0 and len(tables["active latent units"]) == 0


def test_class_table_in_percent():
    frame = {"readout": {"class_histogram": [0.5, 0.5] + [0.0] * 8, "classes_covered": 2, "kl_to_uniform": 1.6,
                         "mode_collapse": True}}
    table, text = charts.class_table(frame, tuple(f"c{i}" for i in range(10)))
    assert table["percent"].tolist()[:3] == [50.0, 50.0, 0.0]
    assert "2 of 10 classes" in text
