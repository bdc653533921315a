"""The regions a visitor hides, and the training family of masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.image.masks import PRESETS, preset_mask, training_masks


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_hide_a_quarter_to_a_half(name):
    mask = preset_mask(name)
    assert mask.shape == (28, 28, 1) and set(np.unique(mask)) == {0, 1}
    assert 0.24 <= 1 - mask.mean() <= 0.5


def test_bottom_half_hides_the_bottom_rows():
    mask = preset_mask("bottom half")[..., 0]
    assert mask[:14].all() and not mask[14:].any()


def test_an_unknown_preset_lists_the_presets():
    with pytest.raises(ValueError, match="bottom half"):
        preset_mask("top")


def test_training_masks_mix_all_hidden_with_partial_regions():
    masks = training_masks(400, torch.Generator().manual_seed(0))
    assert masks.shape == (400, 1, 28, 28) and set(masks.unique().tolist()) <= {0.0, 1.0}
    given = masks.flatten(1).mean(1)  # (400,) share of each picture given
    assert 0.2 < float((given == 0).float().mean()) < 0.4  # "all hidden": unconditional generation
    partial = given[(given > 0) & (given < 1)]
    assert len(partial) > 200 and float(partial.std()) > 0.1  # many shapes and sizes
    again = training_masks(400, torch.Generator().manual_seed(0))
    assert torch.equal(masks, again)
