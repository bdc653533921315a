"""Compare helpers: the metrics table, chart frames and latent interpolation."""

from __future__ import annotations

import numpy as np
import pytest

from studio import compare
from studio.runtime import seeded_noise
from studio.serving import ModelRegistry

REGISTRY = ModelRegistry(device="cpu")


def test_table_has_one_row_per_image_model_with_bits_where_defined():
    table = compare.metrics_table(REGISTRY, "image")
    assert list(table["model"]) == REGISTRY.ids("image")
    by_family = dict(zip(table["family"], table["likelihood"]))
    assert by_family["gan"] == "—"
    assert "bound" in by_family["vae"]
    if "flow" in by_family:
        assert "exact" in by_family["flow"]
    if "transformer" in by_family:
        assert "bits/token" in by_family["transformer"]
    assert (table["FD ↓"] > 0).all() and (table["ONNX KiB"] > 0).all()


def test_chart_frame_is_long_format_of_share_metrics():
    frame = compare.share_metrics_frame(compare.metrics_table(REGISTRY, "image"))
    assert set(frame["metric"]) == set(compare.SHARE_METRICS)
    assert frame["value"].between(0, 2).all()


def test_slerp_starts_and_ends_at_the_two_seeds():
    path = compare.slerp_noise(16, 3, 9, 5)
    assert path.shape == (5, 16) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], seeded_noise(1, 16, 3)[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], seeded_noise(1, 16, 9)[0], atol=1e-5)
    norms = np.linalg.norm(path, axis=1)
    assert norms.min() > 0.8 * min(norms[0], norms[-1])  # no dip towards the origin


def test_curves_frame_holds_loss_series():
    model = REGISTRY.get(REGISTRY.ids("image")[0])
    frame = compare.curves_frame(model.curves)
    assert len(frame) > 10 and frame["series"].str.contains("loss").any()


@pytest.mark.slow
def test_rescore_moves_with_the_sample_but_stays_near_the_record():
    live = compare.rescore(REGISTRY, "image", 1000, seed=5)
    for model_id, m in live.items():
        recorded = REGISTRY.get(model_id).metrics
        assert m["n_samples"] == 1000
        assert m["fd"] == pytest.approx(recorded["fd"], rel=0.5)
