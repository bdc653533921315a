"""Knob checking: defaults fill in, out-of-range values get a message naming the knob and its range."""

from __future__ import annotations

import pytest

from studio.lab.spec import PRESETS, LabInputError, preset_spec, validate


def test_defaults_fill_a_minimal_spec():
    spec = validate({"data": "ring", "family": "gan"})
    assert spec["gan"]["loss"] == "hinge" and spec["seed"] == 0 and spec["seconds"] == 90
    assert spec["steps"] == 2000 and spec["gan"]["beta2"] == 0.999


def test_presets_are_budgeted_in_steps():
    for name in PRESETS:
        assert validate(preset_spec(name))["steps"] == PRESETS[name]["steps"]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_valid_spec(name):
    assert validate(preset_spec(name))["family"] == PRESETS[name]["family"]


@pytest.mark.parametrize(("change", "message"), [
    ({"gan": {"lr_g": 5.0}}, "Generator learning rate must be from 1e-06 to 1; got 5"),
    ({"gan": {"lr_d": float("nan")}}, "Critic learning rate must be from"),
    ({"gan": {"lr_d": "fast"}}, "Critic learning rate must be a number"),
    ({"gan": {"d_steps": 2.5}}, "must be a whole number"),
    ({"gan": {"pack": 3}}, "Packing (PacGAN) must be one of 1, 2, 4"),
    ({"gan": {"loss": "minimax"}}, "Loss must be one of non-saturating, hinge, wgan-gp"),
    ({"gan": {"ema": "yes"}}, "Generator EMA is on or off"),
    ({"seconds": 600}, "Time limit (seconds) must be from 5 to 90"),
    ({"steps": 50}, "Training steps must be from 100 to 20,000"),
    ({"gan": {"beta2": 1.0}}, "Adam beta2 must be from 0.5 to 0.9999"),
    ({"seed": -1}, "Seed must be from 0"),
    ({"data": "cifar"}, "Pick a data set"),
    ({"family": "flow", "data": "images"}, "The flow trains on the 2-D data sets only"),
])
def test_bad_knobs_are_refused_with_the_range(change, message):
    spec = {"data": "ring", "family": "gan", **change}
    with pytest.raises(LabInputError) as info:
        validate(spec)
    assert message in str(info.value)
