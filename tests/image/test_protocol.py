"""The image evaluation protocol on the committed reference classifier and generators."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from studio.evaluation.protocol import evaluate_file
from studio.image.data import DEBIAN_DIR
from studio.image.metrics import ImageReference, score_images
from studio.image.protocol import PROTOCOL
from studio.onnx.export import export_generator
from studio.registry import manifest

REFERENCE = ImageReference(device="cpu")


def test_reference_accuracy_is_recorded_and_at_least_90_percent():
    metrics = json.loads((manifest.TRAINED_DIR / "_reference" / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.90


class _OneImage(nn.Module):
    """A maximally collapsed generator: the same picture for every z."""

    def __init__(self, image: np.ndarray):
        super().__init__()
        self.register_buffer("image", torch.from_numpy(image.astype(np.float32)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # (N, 28, 28, 1): the stored image, with z only setting the batch size
        return (self.image[None] + 0.0 * z[:, :1, None, None]).to(torch.uint8)


def test_a_one_image_generator_is_flagged_as_collapsed(tmp_path):
    # Take a picture the reference classifier is sure about: the committed GAN's first sample.
    gan = next(e for e in manifest.entries() if e["family"] == "gan")
    from studio.onnx.runtime import OnnxGenerator

    picture = OnnxGenerator(manifest.path_of(gan, "onnx"), device="cpu").sample(1, seed=0)[0]
    path = tmp_path / "collapsed.onnx"
    export_generator(_OneImage(picture), path, family="gan", modality="image", z_dim=8, sample_shape=(28, 28, 1))
    m = evaluate_file(path, PROTOCOL, n_samples=1000, seed=0, reference=REFERENCE, device="cpu")
    assert m["mode_collapse"] is True and m["classes_covered"] == 1
    assert m["recall"] < 0.01 and m["coverage"] < 0.01
    assert m["kl_to_uniform"] == pytest.approx(np.log(10), abs=1e-6)


@pytest.mark.slow
@pytest.mark.skipif(not DEBIAN_DIR.exists(), reason="Fashion-MNIST is not installed (bash scripts/get_data.sh)")
def test_real_test_images_score_as_real():
    from studio.image.data import load_fashion_mnist

    test = load_fashion_mnist()["test"]
    m = score_images(test.images[:5000, ..., None], REFERENCE, real_limit=5000)
    assert m["fd"] == pytest.approx(0.0, abs=0.05)  # the same images as the first 5,000 reference features
    assert m["classes_covered"] == 10 and m["mode_collapse"] is False
    train = load_fashion_mnist()["train"].images[:5000, ..., None]
    m_train = score_images(train, REFERENCE, real_limit=5000)  # 5,000 against 5,000: as telling, a quarter the work
    assert m_train["fd"] < 1.0 and m_train["precision"] > 0.6 and m_train["recall"] > 0.6


IMAGE_ENTRIES = [e for e in manifest.entries() if e["modality"] == "image"]


@pytest.mark.slow
@pytest.mark.parametrize("entry", [e for e in IMAGE_ENTRIES if e["id"] == "image-gan"][:1] or
                         [e for e in IMAGE_ENTRIES if e.get("kind", "one-shot") == "one-shot"][:1],
                         ids=lambda e: e["id"])
def test_recorded_metrics_reproduce_from_the_onnx_file(entry):
    """scripts/evaluate.py's computation reproduces the recorded numbers from the ONNX file alone. One model
    runs the whole computation (16 s on 2 cores); for every model the test below checks that its file still
    draws the samples its numbers came from, and the numbers are a deterministic function of those samples.
    `python scripts/evaluate.py --all` recomputes every model's."""
    recorded = json.loads(manifest.path_of(entry, "metrics").read_text())
    fresh = evaluate_file(manifest.path_of(entry, "onnx"), PROTOCOL, n_samples=recorded["n_samples"],
                          seed=recorded["seed"], reference=REFERENCE, device="cpu", sampling=recorded.get("sampling"))
    for key in ("fd", "precision", "recall", "density", "coverage", "kl_to_uniform"):
        assert fresh[key] == pytest.approx(recorded[key], rel=1e-3, abs=1e-4), key
    assert fresh["class_histogram"] == recorded["class_histogram"]  # every sample's class, counted exactly


def test_sampling_settings_change_the_draw_and_are_recorded():
    flow = next(e for e in IMAGE_ENTRIES if e["family"] == "flow")
    plain = evaluate_file(manifest.path_of(flow, "onnx"), PROTOCOL, n_samples=200, seed=3, reference=REFERENCE,
                          device="cpu")
    cooled = evaluate_file(manifest.path_of(flow, "onnx"), PROTOCOL, n_samples=200, seed=3, reference=REFERENCE,
                           device="cpu", sampling={"temperature": 0.5})
    assert "sampling" not in plain and cooled["sampling"] == {"temperature": 0.5}
    assert cooled["sample_digest"] != plain["sample_digest"]  # the noise really was scaled
    with pytest.raises(ValueError, match="no top-k"):
        evaluate_file(manifest.path_of(flow, "onnx"), PROTOCOL, n_samples=10, reference=REFERENCE, device="cpu",
                      sampling={"top_k": 8})
    with pytest.raises(ValueError, match="accepts: temperature, top_k"):
        evaluate_file(manifest.path_of(flow, "onnx"), PROTOCOL, n_samples=10, reference=REFERENCE, device="cpu",
                      sampling={"beam": 2})
