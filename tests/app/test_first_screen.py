"""The page is served before its samples are drawn: sessions open on first use, each tab's first screen is a
part drawn once, and the Images tab opens on the strongest pair by the recorded metrics."""

from __future__ import annotations

import json

from studio.modalities import ALL
from studio.registry import manifest
from studio.registry.serving import ModelRegistry
from studio.ui.describe import strongest


def test_the_images_tab_opens_on_the_two_lowest_recorded_fds():
    registry = ModelRegistry(modalities=ALL)
    fds = {e["id"]: json.loads(manifest.path_of(e, "metrics").read_text())["fd"]
           for e in manifest.entries() if e["modality"] == "image"}
    assert strongest(registry, "image", "fd", "lower") == sorted(fds, key=fds.get)[:2]
    assert strongest(registry, "image", "precision", "higher")[0] == max(
        fds, key=lambda m: registry.get(m).metrics["precision"])


def test_no_session_opens_at_start_up_and_one_opens_on_first_use():
    registry = ModelRegistry(modalities=ALL)
    assert all(m.opened is None and m.available for m in registry.models.values())
    generator = registry.generator("image-gan")
    assert registry.get("image-gan").opened is generator and generator.sample(2, seed=0).shape == (2, 28, 28, 1)
    assert registry.get("image-vae").opened is None


def test_a_file_that_is_not_onnx_is_unavailable_before_anything_opens(tmp_path):
    from tests.conftest import served_copy_of_trained

    registry = ModelRegistry(served_copy_of_trained(tmp_path / "trained"), modalities=ALL)
    corrupt, missing = registry.get("image-corrupt"), registry.get("image-missing")
    assert not corrupt.available and "not a readable ONNX" in corrupt.problem
    assert not missing.available and "does not exist" in missing.problem


def test_every_first_screen_part_draws_and_the_images_come_first():
    import app

    demo = app.build_demo()
    parts = demo.first_screen.parts
    assert parts[0].name == "images left" and parts[1].name == "images right"
    grid, info, hist = parts[0].get()
    assert grid.endswith(".png") and "image-" in info
    assert parts[0].get() is parts[0].get()  # drawn once, then shared
    names = [p.name for p in parts]
    assert {"text left", "music left", "image compare grids", "music metrics"} <= set(names)
