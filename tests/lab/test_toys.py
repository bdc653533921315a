"""Known answers for the toy data and the mode readout (VEEGAN / PacGAN protocol)."""

from __future__ import annotations

import numpy as np

from studio.lab.toys import TOYS, mode_report


def test_samples_from_the_true_ring_cover_all_8_modes_sharply():
    ring = TOYS["ring"]
    report = mode_report(ring.sample(2000, np.random.default_rng(0)), ring)
    assert report["modes_covered"] == 8 and report["modes"] == 8
    assert report["high_quality"] > 0.98  # 3 std holds 98.9% of a 2-D Gaussian


def test_a_generator_that_outputs_one_mode_covers_1_of_8():
    ring = TOYS["ring"]
    one_mode = ring.centres[3] + ring.std * np.random.default_rng(0).standard_normal((2000, 2))
    report = mode_report(one_mode.astype(np.float32), ring)
    assert report["modes_covered"] == 1
    assert report["high_quality"] > 0.98


def test_a_blur_between_modes_covers_none_and_has_no_high_quality_samples():
    ring = TOYS["ring"]
    blur = np.random.default_rng(0).standard_normal((2000, 2)).astype(np.float32) * 0.3  # around the centre
    report = mode_report(blur, ring)
    assert report["modes_covered"] == 0 and report["high_quality"] == 0.0


def test_grid_covers_25_and_stray_samples_do_not_count_as_a_mode():
    grid = TOYS["grid"]
    rng = np.random.default_rng(1)
    assert mode_report(grid.sample(5000, rng), grid)["modes_covered"] == 25
    most_on_one = np.concatenate([np.repeat(grid.centres[:1], 1990, 0), grid.centres[1:6]])  # 1 sample on 5 others
    assert mode_report(most_on_one, grid)["modes_covered"] == 1


def test_moons_has_no_modes_to_count_and_non_finite_samples_are_not_high_quality():
    moons = TOYS["moons"]
    assert mode_report(moons.sample(100, np.random.default_rng(0)), moons) == {}
    ring = TOYS["ring"]
    points = ring.sample(1000, np.random.default_rng(0))
    points[:500] = np.nan
    report = mode_report(points, ring)
    assert 0.45 < report["high_quality"] < 0.51
