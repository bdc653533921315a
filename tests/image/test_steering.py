"""The steering protocol: class accuracy, CAS and completion scores move with how well a model steers."""

from __future__ import annotations

import pytest

from studio.image.data import DEBIAN_DIR
from studio.image.metrics import ImageReference
from studio.image.steering import steering_metrics
from studio.onnx.runtime import OnnxGenerator
from studio.registry import manifest
from tests.conftest import served_ids

pytestmark = pytest.mark.skipif(not DEBIAN_DIR.exists(), reason="Fashion-MNIST is not installed "
                                                                "(bash scripts/get_data.sh)")
REFERENCE = ImageReference(device="cpu")


@pytest.mark.skipif("image-vae-steer" not in served_ids("image"), reason="image-vae-steer is not registered")
def test_a_trained_model_steers_and_keeps_what_is_given():
    generator = OnnxGenerator(manifest.path_of(manifest.get("image-vae-steer"), "onnx"), device="cpu")
    m = steering_metrics(generator, REFERENCE, scale=0.02)  # 20 samples per class, 100 completions per region
    assert m["class_accuracy"] > 0.6 and m["cas"] > 0.4
    for region, scores in m["completion"].items():
        assert scores["kept"] == 1.0, region
        assert scores["spread"] > 5, region  # several ways to fill a hole
        assert scores["fd"] < scores["fd_mean_fill"], region


def test_an_untrained_model_scores_near_chance(tiny_export):
    generator = OnnxGenerator(tiny_export("vae-steer", "image").folder / "generator.onnx", device="cpu")
    m = steering_metrics(generator, REFERENCE, scale=0.01, cas=False)  # CAS: the trained model's test reads it
    assert m["class_accuracy"] < 0.3
    assert all(scores["kept"] == 1.0 for scores in m["completion"].values())  # the graph copies them, trained or not
