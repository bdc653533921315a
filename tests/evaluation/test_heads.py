"""Every committed model still draws the samples stored beside it, on any x86_64 CPU: within the protocol's
tolerance (ONNX Runtime rounds the last bits differently per instruction set), and the check fails for a
changed model file."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from studio.evaluation.heads import HEAD_SAMPLES, MAX_REDRAWN, check_head, compare_heads, read_head
from studio.modalities import BY_NAME
from studio.onnx.runtime import load_generator
from studio.registry import manifest

ENTRIES = manifest.entries()
#: The character and music Transformers draw their head in 10-30 s (a text one writes 256 running texts of 400
#: characters to cut 100 lines from) and the music flow's 20,000-node graph takes 3.4 s to open;
#: `python scripts/evaluate.py ID` checks those three heads, the suite the other nine.
QUICK = [e for e in ENTRIES if e["modality"] == "image" or (e.get("kind", "one-shot") == "one-shot"
                                                             and e["id"] != "music-flow")]


@pytest.mark.parametrize("entry", QUICK, ids=lambda e: e["id"])
def test_the_onnx_file_draws_the_samples_stored_beside_it(entry):
    protocol = BY_NAME[entry["modality"]].protocol()
    generator = load_generator(manifest.path_of(entry, "onnx"), device="cpu")
    result = check_head(generator, protocol, manifest.path_of(entry, "samples_head"))
    assert result.n == HEAD_SAMPLES
    assert result.ok, result.describe()
    assert result.max_abs_diff <= protocol.head_tolerance


def test_the_stored_head_is_the_recorded_draw():
    import json

    for entry in ENTRIES:
        recorded = json.loads(manifest.path_of(entry, "metrics").read_text())
        _, seed, sampling = read_head(manifest.path_of(entry, "samples_head"))
        assert (seed, sampling) == (recorded["seed"], recorded.get("sampling", {})), entry["id"]


def test_last_bit_rounding_passes_and_a_changed_picture_fails():
    stored = np.full((10, 28, 28, 1), 100, np.uint8)
    rounded = stored.copy()
    rounded[3, 5, 5, 0] += 1  # one pixel one level apart, as an AVX2 kernel rounds it
    result = compare_heads(rounded, stored, tolerance=2)
    assert result.ok and result.max_abs_diff == 1 and result.redrawn == []
    changed = stored.copy()
    changed[:, 10:12, 10:12, 0] += 3  # every picture changed in four pixels by 3 levels
    result = compare_heads(changed, stored, tolerance=2)
    assert not result.ok and len(result.redrawn) == 10
    assert "10 of 10 samples differ" in result.describe()


def test_a_redrawn_sample_is_allowed_once_but_not_more():
    stored = np.zeros((100, 48), np.int64)
    drawn = stored.copy()
    drawn[7, 20:] = 5  # an autoregressive draw crossed a probability boundary: the rest of that line differs
    assert compare_heads(drawn, stored, tolerance=0).ok
    drawn[: int(MAX_REDRAWN * 100) + 1, 40] = 9
    assert not compare_heads(drawn, stored, tolerance=0).ok


def _perturbed(entry: dict, tmp_path, scale: float):
    """The entry's ONNX file with every weight matrix and kernel multiplied by ``scale`` (another training run's
    stand-in; 1-D constants stay, since some are resize factors that would change the output's shape)."""
    model = onnx.load(manifest.path_of(entry, "onnx"))
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype == np.float32 and array.ndim >= 2:
            init.CopyFrom(numpy_helper.from_array(array * np.float32(scale), init.name))
    path = tmp_path / "changed.onnx"
    onnx.save(model, path)
    return load_generator(path, device="cpu")


@pytest.mark.parametrize("model_id", ["image-gan", "image-vae", "text-gan", "music-vae"])
def test_the_check_fails_for_a_changed_model_file(model_id, tmp_path):
    entry = manifest.get(model_id)
    protocol = BY_NAME[entry["modality"]].protocol()
    result = check_head(_perturbed(entry, tmp_path, 1.02), protocol, manifest.path_of(entry, "samples_head"))
    assert not result.ok, result.describe()


def test_the_check_fails_for_another_models_samples():
    gan, vae = manifest.get("image-gan"), manifest.get("image-vae")
    protocol = BY_NAME["image"].protocol()
    result = check_head(load_generator(manifest.path_of(vae, "onnx"), device="cpu"), protocol,
                        manifest.path_of(gan, "samples_head"))
    assert not result.ok and len(result.redrawn) > 90
