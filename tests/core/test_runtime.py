"""The ONNX Runtime wrapper: provider choice, seeds, broken files."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from studio.onnx.runtime import CPU, CUDA, GeneratorUnavailable, OnnxGenerator, make_session, seeded_noise
from studio.registry import manifest


def _cuda_usable() -> bool:
    if CUDA not in ort.get_available_providers():
        return False
    entry = manifest.entries()[0]
    try:
        return make_session(manifest.path_of(entry, "onnx"), device="auto").get_providers()[0] == CUDA
    except Exception:  # noqa: BLE001
        return False


CUDA_USABLE = _cuda_usable()


def _first_image_onnx():
    entry = next(e for e in manifest.entries() if e["modality"] == "image")
    return manifest.path_of(entry, "onnx")


def test_cpu_generator_reports_its_provider():
    gen = OnnxGenerator(_first_image_onnx(), device="cpu")
    assert gen.provider == CPU
    images = gen.sample(3, seed=5)
    assert images.dtype == np.uint8 and images.shape == (3, 28, 28, 1)


def test_auto_reports_the_provider_really_used():
    gen = OnnxGenerator(_first_image_onnx(), device="auto")
    assert gen.provider == (CUDA if CUDA_USABLE else CPU)
    assert gen.provider == gen.session.get_providers()[0]


@pytest.mark.skipif(CUDA_USABLE, reason="a usable GPU is present")
def test_asking_for_cuda_without_a_gpu_fails_loudly():
    with pytest.raises(RuntimeError, match="CUDA"):
        make_session(_first_image_onnx(), device="cuda")


def test_seeded_noise_is_reproducible_and_seed_dependent():
    np.testing.assert_array_equal(seeded_noise(4, 8, 1), seeded_noise(4, 8, 1))
    assert not np.array_equal(seeded_noise(4, 8, 1), seeded_noise(4, 8, 2))
    # The first rows do not depend on how many samples are asked for.
    np.testing.assert_array_equal(seeded_noise(2, 8, 1), seeded_noise(6, 8, 1)[:2])


def test_sampling_in_chunks_matches_one_batch():
    gen = OnnxGenerator(_first_image_onnx(), device="cpu")
    np.testing.assert_array_equal(gen.sample(10, seed=3, batch_size=3), gen.sample(10, seed=3, batch_size=100))


def test_missing_and_corrupt_files_are_unavailable(tmp_path):
    with pytest.raises(GeneratorUnavailable, match="does not exist"):
        OnnxGenerator(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(GeneratorUnavailable, match="not a readable ONNX file|could not be loaded"):
        OnnxGenerator(bad)
    classifier = manifest.TRAINED_DIR / "_reference" / "classifier.onnx"
    with pytest.raises(GeneratorUnavailable, match="contract"):
        OnnxGenerator(classifier)  # a valid ONNX file, but not a generator
