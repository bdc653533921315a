"""Steering in the Images tab, through its handlers: a class per panel, and Complete a picture."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from studio.image import complete as completion
from studio.image import tab
from studio.registry import manifest
from studio.registry.serving import ModelRegistry
from tests.conftest import served_ids

STEERED = "image-vae-steer"
pytestmark = pytest.mark.skipif(STEERED not in served_ids("image"), reason=f"{STEERED} is not registered yet")


@pytest.fixture(scope="module")
def registry():
    return ModelRegistry(manifest.TRAINED_DIR, device="cpu")


def test_a_class_draws_that_class(registry):
    from studio.image.metrics import ImageReference

    images = registry.generator(STEERED).sample(32, seed=5, label=7)
    _, predicted = ImageReference(device="cpu").embed(images)
    assert (predicted == 7).mean() >= 0.75  # sneakers
    path, info, _ = tab.generate(registry, STEERED, 5, 16, "Sneaker")
    assert Image.open(path).size[0] > 100 and STEERED in info


def test_a_model_that_cannot_take_a_class_names_one_that_can(registry):
    with pytest.raises(gr.Error, match=f"cannot be asked for a class.*{STEERED}"):
        tab.generate(registry, "image-gan", 0, 4, "Bag")
    path, _, _ = tab.generate(registry, "image-gan", 0, 4, "any")
    assert path.endswith(".png")


def test_an_unknown_class_lists_the_classes(registry):
    with pytest.raises(gr.Error, match="not a Fashion-MNIST class.*Ankle boot"):
        tab.generate(registry, STEERED, 0, 4, "Hat")


@pytest.mark.parametrize("region", list(completion.PRESETS))
def test_every_preset_is_completed_with_the_given_pixels_kept(registry, region):
    path, note = tab.complete(registry, 3, None, region, None, [STEERED], 4, 0)
    assert Image.open(path).size[0] >= 6 * 28 * 3 and "kept exactly" in note  # original, hole and 4 fills
    picture, _ = tab.held_out_picture(3)
    mask = completion.preset_mask(region)
    fills = registry.generator(STEERED).sample(1, seed=0, mask=mask, visible=picture[None])[0]
    np.testing.assert_array_equal(fills[mask > 0], picture[mask > 0])


def test_brush_strokes_become_the_hidden_region(registry):
    layer = np.zeros((280, 280, 4), np.uint8)
    layer[:140, :, 3] = 255  # the top half painted
    mask = completion.mask_from_strokes([layer])
    assert not mask[:14].any() and mask[14:].all()
    _, note = tab.complete(registry, 0, None, completion.STROKES, {"layers": [layer]}, [STEERED], 2, 9)
    assert "392 of 784" in note
    assert tab.painted_region({"layers": [layer]}, "bottom half") == completion.STROKES
    assert tab.painted_region({"layers": []}, "bottom half") == "bottom half"


def test_nothing_painted_or_nothing_ticked_says_what_to_do(registry):
    with pytest.raises(gr.Error, match="Nothing is painted"):
        tab.complete(registry, 0, None, completion.STROKES, {"layers": []}, [STEERED], 2, 0)
    with pytest.raises(gr.Error, match="No model is ticked"):
        tab.complete(registry, 0, None, "bottom half", None, [], 2, 0)
    with pytest.raises(gr.Error, match="cannot complete pictures"):
        tab.complete(registry, 0, None, "bottom half", None, ["image-gan"], 2, 0)
    with pytest.raises(gr.Error, match="not a region"):
        tab.complete(registry, 0, None, "top", None, [STEERED], 2, 0)


def test_an_upload_is_framed_like_fashion_mnist(registry, tmp_path):
    photo = np.full((90, 60), 240, np.uint8)  # a dark garment on a light background, not square
    photo[20:70, 15:45] = 30
    Image.fromarray(photo).save(tmp_path / "shirt.jpg")
    picture = completion.picture_from_file(tmp_path / "shirt.jpg")
    assert picture.shape == (28, 28, 1) and picture[0, 0, 0] == 0 and picture[14, 14, 0] > 150  # inverted, centred
    _, note = tab.complete(registry, 0, str(tmp_path / "shirt.jpg"), "left half", None, [STEERED], 2, 0)
    assert "your picture" in note
    (tmp_path / "notes.txt").write_text("not a picture")
    with pytest.raises(gr.Error, match="notes.txt is not a picture"):
        tab.complete(registry, 0, str(tmp_path / "notes.txt"), "left half", None, [STEERED], 2, 0)
