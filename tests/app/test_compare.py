"""Compare data for every modality: the metrics tables and chart frames through the schema, re-scoring."""

from __future__ import annotations

import numpy as np
import pytest

from studio.evaluation.schema import LIKELIHOOD_KINDS
from studio.modalities import ALL, BY_NAME
from studio.onnx.runtime import seeded_noise, slerp_noise
from studio.registry.serving import ModelRegistry
from studio.ui import compare

REGISTRY = ModelRegistry(device="cpu", modalities=ALL)
IMAGE = BY_NAME["image"]


def test_image_table_has_one_row_per_model_with_a_likelihood_where_defined():
    table = compare.metrics_table(REGISTRY, IMAGE)
    assert list(table["model"]) == REGISTRY.ids("image")  # no held-out row: images record no <key>_real
    by_model = dict(zip(table["model"], table["likelihood"]))  # the families' own models
    assert by_model["image-gan"] == "—"
    assert by_model["image-vae"].startswith("≤ ") and LIKELIHOOD_KINDS["bound"] in by_model["image-vae"]
    assert LIKELIHOOD_KINDS["dequantized"] in by_model["image-flow"] and "bits/dim" in by_model["image-flow"]
    assert "bits/code token" in by_model["image-transformer"]
    assert (table["FD ↓"] > 0).all() and (table["ONNX KiB"] > 0).all()


@pytest.mark.parametrize("modality", [m for m in ALL if REGISTRY.ids(m.name)], ids=lambda m: m.name)
def test_every_table_column_comes_from_the_schema(modality):
    table = compare.metrics_table(REGISTRY, modality)
    headers = [modality.schema.metric(k).header for k in modality.schema.table]
    assert headers == [c for c in table.columns if c in headers]
    models = table[table["family"] != "data"]
    assert len(models) == len(REGISTRY.ids(modality.name))
    assert models[headers[0]].notna().all()  # every model records the first metric under its schema key


def test_music_and_text_tables_end_with_what_the_held_out_data_scores():
    for name, key in (("music", "fd"), ("text", "distinct_2")):
        table = compare.metrics_table(REGISTRY, BY_NAME[name])
        real = table.iloc[-1]
        assert real["model"] == BY_NAME[name].schema.real_label
        assert real[BY_NAME[name].schema.metric(key).header] == pytest.approx(
            REGISTRY.get(REGISTRY.ids(name)[0]).metrics[key + "_real"], abs=1e-4)


def test_comparison_gives_a_table_a_chart_file_and_a_best_per_metric_summary():
    from PIL import Image

    table, chart, best = compare.comparison(REGISTRY, IMAGE, ("fd", "precision"))
    assert len(table) == len(REGISTRY.ids("image"))
    assert Image.open(chart).size[0] > 300
    assert best.startswith("| metric | best | value | data |") and "FD" in best and "precision" in best


def test_slerp_starts_and_ends_at_the_two_seeds():
    path = slerp_noise(16, 3, 9, 5)
    assert path.shape == (5, 16) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], seeded_noise(1, 16, 3)[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], seeded_noise(1, 16, 9)[0], atol=1e-5)
    norms = np.linalg.norm(path, axis=1)
    assert norms.min() > 0.8 * min(norms[0], norms[-1])  # no dip towards the origin


def test_a_label_with_bars_keeps_every_row_of_the_metrics_table():
    from studio.evaluation.schema import Metric, MetricSchema
    from studio.ui.describe import metrics_markdown

    metrics = (Metric("kl", "KL(q(z|x) || p(z))", "the KL"), Metric("fd", "FD", "FD", "lower"))
    schema = MetricSchema("text", "lines", metrics, table=("kl", "fd"), compared=("kl", "fd"),
                          verdict=lambda m: "fine")
    lines = metrics_markdown(schema, {"kl": 3.0, "fd": 1.0}).splitlines()
    assert len(lines) == 5  # header, rule, KL, FD, likelihood
    assert all(line.replace("\\|", "").count("|") == 3 for line in lines)
