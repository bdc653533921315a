"""The app through gradio_client against a launched server, including bad input."""

from __future__ import annotations

import json

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server["url"], verbose=False, download_files=True)


def _good_ids(app_server) -> list[str]:
    data = json.loads((app_server["trained"] / "manifest.json").read_text())
    broken = ("image-corrupt", "image-missing")
    return [e["id"] for e in data["models"] if e["modality"] == "image" and e["id"] not in broken]


#: The public API: users' scripts call these names, so they never change.
STABLE_API = {
    "generate_left", "generate_right", "describe_left", "describe_right", "generate_both", "interpolate",
    "generate_all", "rescore", "generate_text_left", "generate_text_right", "describe_text_left",
    "describe_text_right", "interpolate_text", "generate_all_text", "generate_music_left", "generate_music_right",
    "describe_music_left", "describe_music_right", "interpolate_music", "generate_all_music",
    "lab_train", "lab_poll", "lab_stop", "lab_save",
    "eval_answer", "eval_vote",
    *(f"eval_{what}_{m}" for what in ("item", "pair", "board") for m in ("image", "text", "music")),
    "eval_completion_pair_image", "eval_completion_board_image",
}


def test_every_stable_api_name_is_served(client):
    named = {name.lstrip("/") for name in client.view_api(print_info=False, return_format="dict")["named_endpoints"]}
    assert STABLE_API <= named, f"missing: {sorted(STABLE_API - named)}"


def test_every_parameter_is_named_and_one_idea_has_one_name(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = {api: [p["parameter_name"] for p in info["parameters"]] for api, info in endpoints.items()}
    unnamed = [f"{api}: {n}" for api, ns in names.items() for n in ns if not n or n.startswith("param_")]
    assert not unnamed, unnamed
    used = {n for ns in names.values() for n in ns}
    assert {"seed", "temperature", "top_k", "top_p", "steps"} <= used
    assert not used & {"seed_value", "temp", "k", "p", "length_value", "lines_value", "prompt_value"}


def test_generate_returns_a_grid_of_the_requested_size(client, app_server):
    model = _good_ids(app_server)[0]
    grid_path, info, hist = client.predict(model, 7, 16, api_name="/generate_left")
    grid = Image.open(grid_path)
    # 16 images of 28 px in a 4x4 grid with 2 px padding, upscaled 3x.
    assert grid.size == ((4 * 30 + 2) * 3, (4 * 30 + 2) * 3)
    assert model in info and "CPUExecutionProvider" in info
    assert Image.open(hist).size[0] > 300  # the class histogram chart, a PNG
    assert "Class histogram" in info and "every class 10%" in info  # the chart's text summary


def test_an_int8_variant_draws_nearly_the_same_grid_and_says_its_precision(client, app_server):
    data = json.loads((app_server["trained"] / "manifest.json").read_text())
    variants = [f"{e['id']}@{name}" for e in data["models"] if e["modality"] == "image"
                for name in e.get("variants", {})]
    if not variants:
        pytest.skip("no image model has a registered variant (python scripts/quantize.py --register)")
    base = variants[0].split("@")[0]
    fast_path, fast_info, _ = client.predict(variants[0], 7, 16, api_name="/generate_left")
    slow_path, slow_info, _ = client.predict(base, 7, 16, api_name="/generate_right")
    assert "in int8" in fast_info and "in fp32" in slow_info
    import numpy as np

    fast, slow = (np.asarray(Image.open(p).convert("L"), dtype=np.float32) for p in (fast_path, slow_path))
    assert fast.shape == slow.shape
    assert 0 < np.abs(fast - slow).mean() < 12  # another file, the same pictures to within a few grey levels


def test_same_seed_gives_the_same_grid(client, app_server):
    model = _good_ids(app_server)[0]
    a = Image.open(client.predict(model, 3, 4, api_name="/generate_left")[0]).tobytes()
    b = Image.open(client.predict(model, 3, 4, api_name="/generate_right")[0]).tobytes()
    c = Image.open(client.predict(model, 4, 4, api_name="/generate_left")[0]).tobytes()
    assert a == b and a != c


def test_generate_both_uses_one_seed(client, app_server):
    ids = _good_ids(app_server)
    out = client.predict(ids[0], ids[-1], 11, 4, 9, api_name="/generate_both")
    assert out[0] == 11 and out[1] == 11
    assert Image.open(out[2]).size != Image.open(out[5]).size  # 4 vs 9 images


@pytest.mark.parametrize("count,message", [
    (0, "from 1 to 64"), (65, "from 1 to 64"), (2.5, "whole number"), (-3, "from 1 to 64"), (1e9, "from 1 to 64"),
])
def test_bad_counts_get_a_plain_error(client, app_server, count, message):
    with pytest.raises(Exception, match=message):
        client.predict(_good_ids(app_server)[0], 0, count, api_name="/generate_left")


def test_bad_seed_gets_a_plain_error(client, app_server):
    with pytest.raises(Exception, match="Seed must be"):
        client.predict(_good_ids(app_server)[0], -1, 4, api_name="/generate_left")


def test_unknown_model_gets_a_plain_error(client):
    with pytest.raises(Exception, match="Unknown model 'no-such-model'"):
        client.predict("no-such-model", 0, 4, api_name="/generate_left")


@pytest.mark.parametrize("model", ["image-corrupt", "image-missing"])
def test_broken_model_is_unavailable_with_the_rebuild_command(client, model):
    with pytest.raises(Exception, match=r"unavailable.*Rebuild it with: python scripts/train_"):
        client.predict(model, 0, 4, api_name="/generate_left")
    info, _ = client.predict(model, api_name="/describe_left")
    assert "Unavailable" in info and "python scripts/train_" in info


def test_server_keeps_serving_after_errors(client, app_server):
    for bad in (0, "abc"):
        with pytest.raises(AppError):
            client.predict(_good_ids(app_server)[0], 0, bad, api_name="/generate_left")
    assert app_server["proc"].poll() is None
    grid_path, _, _ = client.predict(_good_ids(app_server)[0], 0, 1, api_name="/generate_left")
    assert Image.open(grid_path).size[0] > 0


def test_generate_all_gives_one_grid_per_image_model(client, app_server):
    grids = client.predict(3, 4, api_name="/generate_all")
    data = json.loads((app_server["trained"] / "manifest.json").read_text())
    image_ids = [e["id"] for e in data["models"] if e["modality"] == "image"]
    assert len(grids) == len(image_ids)
    for model_id, grid in zip(image_ids, grids):
        if model_id in ("image-corrupt", "image-missing"):
            assert grid is None
        else:
            assert Image.open(grid).size[0] > 0


def test_rescore_returns_a_live_table_near_the_record(client, app_server):
    table, chart = client.predict(1, api_name="/rescore")
    live = {row[0]: "(live)" in row[-1] for row in table["data"]}
    assert all(live[m] for m in _good_ids(app_server))
    assert not live["image-corrupt"]  # an unavailable model keeps its recorded row
    fd = {row[0]: row[table["headers"].index("FD ↓")] for row in table["data"]}
    for model_id in _good_ids(app_server):
        recorded = json.loads((app_server["trained"] / model_id / "metrics.json").read_text())["fd"]
        assert fd[model_id] == pytest.approx(recorded, rel=0.5)  # 2,000 live samples against the 10,000 recorded
    assert Image.open(chart).size[0] > 300


def test_interpolation_strip_and_its_bad_input(client, app_server):
    model = _good_ids(app_server)[0]
    strip = Image.open(client.predict(model, 1, 2, 6, api_name="/interpolate"))
    assert strip.size[0] == (6 * 30 + 2) * 3  # six frames in one row
    with pytest.raises(Exception, match="Frames must be from 2 to 16"):
        client.predict(model, 1, 2, 1, api_name="/interpolate")
    with pytest.raises(Exception, match="unavailable"):
        client.predict("image-corrupt", 1, 2, 4, api_name="/interpolate")


# -- text --------------------------------------------------------------------------------
TEXT_ARGS = {"prompt": "ROMEO.\n", "seed": 1, "temperature": 0.8, "length": 60, "lines": 3, "top_k": 0, "top_p": 0.95}


def _text(client, model, **changes):
    args = {**TEXT_ARGS, **changes}
    return client.predict(model, args["prompt"], args["seed"], args["temperature"], args["length"], args["lines"],
                          args["top_k"], args["top_p"], api_name="/generate_text_left")


def test_transformer_continues_the_prompt_and_is_seeded(client):
    text, note = _text(client, "text-transformer")
    assert text.startswith("ROMEO.\n") and len(text) == len("ROMEO.\n") + 60 and note == ""
    assert text == _text(client, "text-transformer")[0] != _text(client, "text-transformer", seed=2)[0]


def test_line_models_write_lines_and_say_the_prompt_does_not_apply(client):
    for model in ("text-gan", "text-vae", "text-flow"):
        text, note = _text(client, model, lines=4)
        assert len(text.split("\n")) == 4 and all(len(line) <= 48 for line in text.split("\n"))
        assert "Transformer only" in note


def test_odd_prompts_are_mapped_with_a_note(client):
    text, note = _text(client, "text-transformer", prompt="", length=10)
    assert len(text) == 10 and "empty prompt" in note
    text, note = _text(client, "text-transformer", prompt="Caf\u00e9 \u2019tis \u4e2d", length=10)
    assert text.startswith("Cafe 'tis ") and "\u4e2d" in note


@pytest.mark.parametrize("changes,message", [
    ({"temperature": 5}, "Temperature must be a number from 0 to 2"),
    ({"temperature": "hot"}, "Temperature must be a number"),
    ({"length": 10**6}, "Characters must be from 1 to 1000"),
    ({"length": 0}, "Characters must be from 1 to 1000"),
    ({"prompt": "x" * 3000}, "the limit is 2,000"),
    ({"top_p": 0}, "Top-p must be a number above 0"),
    ({"top_k": -1}, "Top-k must be from 0"),
    ({"seed": -5}, "Seed must be from 0"),
])
def test_bad_text_input_gets_a_plain_error(client, changes, message):
    with pytest.raises(Exception, match=message):
        _text(client, "text-transformer", **changes)


def test_text_interpolation_walks_between_two_lines(client):
    path = client.predict("text-vae", "To be, or not to be", "I will not stay", 5, api_name="/interpolate_text")
    assert len(path.split("\n")) == 5
    with pytest.raises(Exception, match="has no encoder"):
        client.predict("text-gan", "a", "b", 5, api_name="/interpolate_text")
    with pytest.raises(Exception, match="Type a line in both boxes"):
        client.predict("text-vae", "", "b", 5, api_name="/interpolate_text")


def test_compare_generates_every_text_model_on_one_seed(client, app_server):
    data = json.loads((app_server["trained"] / "manifest.json").read_text())
    text_ids = [e["id"] for e in data["models"] if e["modality"] == "text"]
    outputs = client.predict(0, 3, api_name="/generate_all_text")
    assert len(outputs) == len(text_ids) == 4 and all(o.strip() for o in outputs)
