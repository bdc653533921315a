"""The contract's condition inputs: a class and a given region, served by the one-shot runtime."""

from __future__ import annotations

import numpy as np
import pytest

from studio.image.masks import preset_mask
from studio.onnx.contract import ContractError, generator_metadata, validate_file
from studio.onnx.runtime import ConditionError, OnnxGenerator


@pytest.fixture(scope="module")
def vae_steered(tiny_export):
    """One steering file, for what the runtime checks before any graph runs."""
    return OnnxGenerator(tiny_export("vae-steer", "image").folder / "generator.onnx", device="cpu")


STEERING = ["vae-steer", "gan-steer", "flow-steer", "transformer-steer"]  # every image family's steering variant


@pytest.fixture(scope="module", params=STEERING)
def steered(tiny_export, request):
    return OnnxGenerator(tiny_export(request.param, "image").folder / "generator.onnx", device="cpu")


@pytest.fixture(scope="module")
def plain(tiny_export):
    return OnnxGenerator(tiny_export("gan", "image").folder / "generator.onnx", device="cpu")


def test_a_conditional_file_names_its_conditions_and_classes(steered):
    info = validate_file(steered.path)
    assert info.conditions == ("class", "region") and len(info.classes) == 10 and info.contract_version == "2"
    assert {i.name for i in steered.session.get_inputs()} == {"z", "label", "mask", "visible"}


def test_nothing_given_draws_like_an_unconditional_file(steered):
    a = steered.sample(6, seed=4)
    assert a.shape == (6, 28, 28, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, steered.sample(6, seed=4, label=-1, mask=np.zeros((28, 28, 1))))


def test_given_pixels_come_back_unchanged_and_the_hole_is_drawn(steered):
    rng = np.random.default_rng(0)
    visible = rng.integers(0, 256, (5, 28, 28, 1)).astype(np.uint8)
    mask = preset_mask("bottom half")
    out = steered.sample(5, seed=1, mask=mask, visible=visible)
    given = np.broadcast_to(mask, out.shape) > 0
    np.testing.assert_array_equal(out[given], visible[given])
    assert (out[~given] != visible[~given]).mean() > 0.5  # drawn, not copied


def test_the_class_changes_the_draw(steered):
    assert not np.array_equal(steered.sample(4, seed=2, label=0), steered.sample(4, seed=2, label=7))
    per_sample = steered.sample(4, seed=2, label=np.array([0, 7, 0, 7]))
    np.testing.assert_array_equal(per_sample[0], steered.sample(4, seed=2, label=0)[0])


@pytest.mark.parametrize("label", [10, -2, 99])
def test_an_unknown_class_names_the_classes(vae_steered, label):
    with pytest.raises(ConditionError, match="choose 0-9 .*Ankle boot"):
        vae_steered.sample(2, label=label)


def test_a_region_of_the_wrong_shape_is_refused(vae_steered):
    with pytest.raises(ConditionError, match=r"shape \[28, 28, 1\]"):
        vae_steered.sample(2, mask=np.ones((14, 14, 1)), visible=np.zeros((14, 14, 1)))


def test_an_unconditional_file_refuses_conditions_but_accepts_nothing_given(plain):
    assert plain.conditions == ()
    np.testing.assert_array_equal(plain.sample(3, seed=1, label=-1), plain.sample(3, seed=1))
    with pytest.raises(ConditionError, match="cannot be asked for a class"):
        plain.sample(3, label=2)
    with pytest.raises(ConditionError, match="cannot complete"):
        plain.sample(3, mask=preset_mask("left half"), visible=np.zeros((28, 28, 1), np.uint8))


def test_metadata_refuses_unknown_conditions_and_a_class_without_names():
    with pytest.raises(ContractError, match="unknown conditions"):
        generator_metadata(family="vae", modality="image", z_dim=4, sample_shape=(28, 28, 1), conditions=("style",))
    with pytest.raises(ContractError, match="name its classes"):
        generator_metadata(family="vae", modality="image", z_dim=4, sample_shape=(28, 28, 1), conditions=("class",))
