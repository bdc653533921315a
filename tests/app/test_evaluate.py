"""The Evaluate tab through gradio_client: items and pairs come with tickets, votes count once from the page
they were shown on, bad input gets a plain error, and the leaderboard and CSV reflect the votes."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from studio.image.complete import HOLE_RGB
from tests.conftest import served_ids

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server["url"], verbose=False)


@pytest.mark.parametrize("modality", ["image", "text", "music"])
def test_real_or_generated_then_the_truth(client, modality):
    item, ticket, question = client.predict(api_name=f"/eval_item_{modality}")
    assert ticket and "real or generated?" in question
    if modality == "text":
        assert 1 <= len(item.splitlines()) <= 3
    elif modality == "image":  # a 28-px image enlarged 8 times (a plain one compresses to under 1 kB)
        assert Image.open(item).size == (224, 224)
    else:  # four bars at 100 bpm, from the first note
        assert soundfile.info(item).duration > 2
    if modality != "text":
        assert "gan" not in Path(item).name and "vae" not in Path(item).name  # the file name gives nothing away
    truth = client.predict(ticket, "generated", api_name="/eval_answer")
    assert truth.startswith(("It was **real**", "It was **generated** by **"))
    with pytest.raises(AppError, match="already been voted on"):
        client.predict(ticket, "real", api_name="/eval_answer")


def test_which_is_better_names_the_models_after_the_vote(client):
    left, right, ticket, _ = client.predict(api_name="/eval_pair_image")
    assert Path(left).exists() and Path(right).exists()
    reveal = client.predict(ticket, "left", api_name="/eval_vote")
    assert reveal.startswith("Left was **image-") and "right was **image-" in reveal


@pytest.mark.skipif(not {"image-vae-steer", "image-gan-steer"} <= set(served_ids("image")),
                    reason="two image models that complete pictures are not registered yet")
def test_which_completion_is_better_shows_one_picture_and_two_fills_then_the_names(client):
    given, left, right, ticket, question = client.predict(api_name="/eval_completion_pair_image")
    assert "Which completion is better?" in question and "pink" in question
    pictures = [np.asarray(Image.open(path).convert("RGB")) for path in (given, left, right)]
    assert all(p.shape == (224, 224, 3) for p in pictures)
    hole = (pictures[0] == HOLE_RGB).all(axis=2)  # where the given picture shows its hidden region
    assert 0 < hole.mean() < 1 and not (pictures[1] == HOLE_RGB).all(axis=2).any()
    for fill in pictures[1:]:  # both fills keep the given pixels around the same hole
        np.testing.assert_array_equal(fill[~hole], pictures[0][~hole])
    reveal = client.predict(ticket, "right", api_name="/eval_vote")
    assert reveal.startswith("Left was **image-") and "-steer**" in reveal and "Next completion pair" in reveal
    with pytest.raises(AppError, match="already been voted on"):
        client.predict(ticket, "left", api_name="/eval_vote")
    table, reading = client.predict(api_name="/eval_completion_board_image")
    assert "completion votes so far" in reading
    rated = {row[0] for row in table["data"] if row[1] != "no votes yet"}
    voted = set(re.findall(r"\*\*(image-[a-z-]+)\*\*", reveal))  # the two models the reveal named
    assert len(voted) == 2 and rated == voted
    _, _, votes = client.predict(api_name="/eval_board_image")
    rows = list(csv.DictReader(io.StringIO(Path(votes).read_text())))
    assert any(r["question"] == "which_completion_is_better" and r["compared"] == "completion" for r in rows)


def test_a_ticket_from_another_page_or_made_up_is_refused(client, app_server):
    _, ticket, _ = client.predict(api_name="/eval_item_image")
    other = Client(app_server["url"], verbose=False)  # another browser session
    with pytest.raises(AppError, match="not issued to this page"):
        other.predict(ticket, "real", api_name="/eval_answer")
    with pytest.raises(AppError, match="not issued to this page"):
        client.predict("x" * 30, "real", api_name="/eval_answer")
    client.predict(ticket, "real", api_name="/eval_answer")  # its own page still can


@pytest.mark.parametrize(("endpoint", "args", "message"), [
    ("/eval_answer", ("t", "maybe"), "is 'real' or 'generated'"),
    ("/eval_answer", ("", "real"), "no valid ticket"),
    ("/eval_vote", ("t", "both"), "one of left, right, tie"),
    ("/eval_vote", ("x" * 500, "left"), "no valid ticket"),
])
def test_bad_votes_get_a_plain_error(client, endpoint, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name=endpoint)


def test_the_leaderboard_and_csv_count_the_votes(client):
    for _ in range(2):
        _, _, ticket, _ = client.predict(api_name="/eval_pair_text")
        client.predict(ticket, "tie", api_name="/eval_vote")
    table, reading, votes = client.predict(api_name="/eval_board_text")
    assert "pairwise votes" in reading and "How to read it" in reading
    assert {"model", "human rating (95% CI)", "fooled rate (95% CI)"} <= set(table["headers"])
    rated = [row for row in table["data"] if row[1] != "no votes yet"]
    assert len(rated) >= 2
    rows = list(csv.DictReader(io.StringIO(Path(votes).read_text())))
    assert sum(r["question"] == "which_is_better" and r["answer"] == "tie" for r in rows) >= 2
