"""'Which completion is better?' through Judging: both models fill the same held-out picture's same region, and
a vote is stored as a completion vote, rated on its own, leaving the 'Which is better?' leaderboard as it was."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from studio.humaneval.store import VoteStore, tickets
from studio.humaneval.tab import Judging, completion_table
from studio.image import MODALITY
from studio.image.complete import held_out_pictures, shown_with_hole
from studio.image.human_eval import SCALE
from studio.image.masks import preset_mask
from studio.modalities import ALL
from studio.registry import manifest
from studio.registry.serving import ModelRegistry
from tests.conftest import TRAINED_SOURCE, served_ids

COMPLETING = {"image-vae-steer", "image-gan-steer"}
pytestmark = pytest.mark.skipif(not COMPLETING <= set(served_ids("image")),
                                reason="two image models that complete pictures are not registered yet")


@pytest.fixture(scope="module")
def registry():
    return ModelRegistry(TRAINED_SOURCE, device="cpu", modalities=ALL)


@contextlib.contextmanager
def judging_on(registry: ModelRegistry, folder: Path) -> Iterator[Judging]:
    store = VoteStore.open(f"sqlite:///{folder / 'votes.db'}")
    try:
        yield Judging(store, registry, ALL)
    finally:
        store.engine.dispose()


@pytest.fixture
def judging(registry, tmp_path):
    with judging_on(registry, tmp_path) as judging:
        yield judging


def ticket_item(judging: Judging, ticket: str) -> dict:
    with judging.store.engine.connect() as conn:
        return json.loads(conn.execute(sa.select(tickets.c.item).where(tickets.c.id == ticket)).scalar_one())


def pixels(path: str) -> np.ndarray:
    """A shown picture at its own 28x28 size."""
    return np.asarray(Image.open(path))[::SCALE, ::SCALE]


def test_both_models_fill_the_same_picture_and_region(judging, registry):
    assert set(judging.completion_models("image")) >= COMPLETING and judging.completion_models("text") == []
    given, left, right, ticket = judging.next_completion_pair("image", "page-1")
    item = ticket_item(judging, ticket)
    assert item["question"] == "completion" and item["left"] != item["right"]
    picture, mask = held_out_pictures()[0][item["picture"]], preset_mask(item["region"])
    np.testing.assert_array_equal(pixels(given), shown_with_hole(picture, mask))
    kept = mask[..., 0] == 1
    for path, model_id, seed in zip((left, right), (item["left"], item["right"]), item["seeds"]):
        fill = pixels(path)
        np.testing.assert_array_equal(fill[kept], picture[..., 0][kept])  # the given pixels, exactly
        temperature = registry.get(model_id).sampling.get("temperature", 1.0)  # each model fills at its default
        expected = registry.generator(model_id).sample(1, seed=seed, mask=mask, visible=picture[None],
                                                       temperature=temperature)[0, ..., 0]
        np.testing.assert_array_equal(fill, expected)


def test_a_completion_vote_is_rated_apart_from_which_is_better(judging, registry):
    _, _, _, ticket = judging.next_completion_pair("image", "page-1")
    pair = ticket_item(judging, ticket)
    assert "press **Next completion pair**" in judging.vote(ticket, "page-1", "left")
    assert [r.question for r in judging.store.comparison_rows("image", question=None)] == ["completion"]
    board, votes = judging.board("image")
    assert board.comparisons == 0 and all(r.rating is None for r in board.rows)  # "Which is better?" is untouched
    assert "which_completion_is_better,image," in Path(votes).read_text()  # the CSV still holds every vote
    rated = judging.completion_board("image")
    assert rated.comparisons == 1
    assert {r.model for r in rated.rows if r.rating is not None} == {pair["left"], pair["right"]}
    table = completion_table(rated, MODALITY, registry)
    assert {"completion rating (95% CI)", "completion votes", "completion agreement"} <= set(table.columns)

    samples = judging.store.issue("page-1", "compare", "image", {"question": "samples", "left": "image-gan",
                                                                 "right": "image-vae"})
    assert "press **Next pair**" in judging.vote(samples, "page-1", "tie")
    assert judging.board("image")[0].comparisons == 1 and judging.completion_board("image").comparisons == 1


def test_fewer_than_two_completing_models_say_so(tmp_path):
    root = tmp_path / "trained"
    root.mkdir()
    kept = [e for e in manifest.entries(TRAINED_SOURCE) if e["id"] in ("image-vae-steer", "image-gan")]
    for entry in kept:
        (root / entry["id"]).symlink_to(TRAINED_SOURCE / entry["id"])
    (root / "manifest.json").write_text(json.dumps({"version": 1, "models": kept}))
    with judging_on(ModelRegistry(root, device="cpu", modalities=ALL), tmp_path) as judging:
        with pytest.raises(gr.Error, match="needs two image models that complete pictures; only 1 is available"):
            judging.next_completion_pair("image", "page-1")
        with pytest.raises(gr.Error, match="Text has no"):
            judging.next_completion_pair("text", "page-1")
        assert judging.store.counts()["tickets"] == 0
