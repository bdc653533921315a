"""Metric known answers."""

from __future__ import annotations

import numpy as np
import pytest

from studio.evaluation.classes import class_readout
from studio.evaluation.fidelity import frechet_distance, manifold_metrics


@pytest.fixture
def feats():
    rng = np.random.default_rng(0)
    return rng.standard_normal((600, 16)).astype(np.float32), rng.standard_normal((600, 16)).astype(np.float32)


def test_identical_sets_have_zero_frechet_distance(feats):
    a, _ = feats
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_grows_with_a_mean_shift(feats):
    a, b = feats
    near = frechet_distance(a, b)
    far = frechet_distance(a + 2.0, b)
    assert near < 1.0
    assert far == pytest.approx(near + 4.0 * 16, rel=0.1)  # ||mu shift||^2 = 2^2 * 16


def test_frechet_distance_of_gaussians_matches_closed_form():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((200_000, 2)) * [1.0, 1.0]
    b = rng.standard_normal((200_000, 2)) * [2.0, 2.0]
    # Tr(I + 4I - 2*2I) = 2 for isotropic scales 1 and 2 in 2-D.
    assert frechet_distance(a, b) == pytest.approx(2.0, rel=0.02)


def test_identical_sets_have_full_precision_recall_and_coverage(feats):
    a, _ = feats
    m = manifold_metrics(a, a)
    assert m["precision"] == 1.0 and m["recall"] == 1.0 and m["coverage"] == 1.0
    assert m["density"] == pytest.approx(1.0, rel=0.25)


def test_collapsed_features_have_low_recall_and_coverage(feats):
    a, b = feats
    collapsed = np.repeat(a[:1], len(a), axis=0) + 1e-3 * a  # every sample near one point
    m = manifold_metrics(collapsed, b)
    assert m["recall"] < 0.05 and m["coverage"] < 0.05
    ok = manifold_metrics(a, b)
    assert ok["recall"] > 0.5 and ok["coverage"] > 0.5


def test_a_one_class_generator_is_flagged_as_collapsed():
    r = class_readout(np.full(1000, 3), 10)
    assert r["mode_collapse"] is True and r["classes_covered"] == 1
    assert r["kl_to_uniform"] == pytest.approx(np.log(10))


def test_a_uniform_generator_is_not_flagged():
    r = class_readout(np.arange(1000) % 10, 10)
    assert r["mode_collapse"] is False and r["classes_covered"] == 10
    assert r["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)


def test_a_missing_class_counts_as_partial_collapse():
    r = class_readout(np.arange(1000) % 9, 10)
    assert r["classes_covered"] == 9 and r["mode_collapse"] is True
