"""The Music tab through gradio_client against a launched server, bad input included.

Runs on the committed music models; to try the tab's code on tiny ones instead:
    for f in gan vae flow transformer; do python scripts/train_$f.py --modality music --preset tiny; done
    STUDIO_TEST_TRAINED_DIR=runs/tiny/trained python -m pytest tests/app/test_music.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from tests.conftest import served_ids

pytestmark = [pytest.mark.filterwarnings("ignore"),
              pytest.mark.skipif(not served_ids("music"), reason="no music models in trained/ yet (train them with "
                                 "`python scripts/train_transformer.py --modality music`, likewise vae, gan, flow)")]

TEMPO = 120  # 2 quarter notes per second: a bar lasts 2 s
ARGS = {"seed": 1, "temperature": 1.0, "bars": 2, "tempo": TEMPO, "opening": "", "opening_bars": 2}


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server["url"], verbose=False, download_files=True)


@pytest.fixture(scope="module")
def models(app_server) -> dict[str, list[str]]:
    """Music model ids by what they can do (a model may be in several lists)."""
    every = json.loads((app_server["trained"] / "manifest.json").read_text())["models"]
    entries = [e for e in every if e["modality"] == "music"]
    return {"all": [e["id"] for e in entries],
            "other": [e["id"] for e in every if e["modality"] != "music" and e["id"] not in ("image-corrupt",
                                                                                           "image-missing")],
            "autoregressive": [e["id"] for e in entries if e["kind"] == "autoregressive"],
            "latent": [e["id"] for e in entries if e["kind"] == "one-shot"],
            "encoder": [e["id"] for e in entries if "encoder" in e],
            "openings": [e["id"] for e in entries if "openings" in e]}


def _music(client, model, side="left", **changes):
    args = {**ARGS, **changes}
    return client.predict(model, args["seed"], args["temperature"], args["bars"], args["tempo"], args["opening"],
                          args["opening_bars"], api_name=f"/generate_music_{side}")


def _grid_of(midi_path: str) -> np.ndarray:
    from studio.music.codec import midi_bytes_to_grid

    return midi_bytes_to_grid(Path(midi_path).read_bytes())


def _openings(app_server, model_id: str) -> dict[str, np.ndarray]:
    entry = next(e for e in json.loads((app_server["trained"] / "manifest.json").read_text())["models"]
                 if e["id"] == model_id)
    data = json.loads((app_server["trained"] / entry["openings"]["path"]).read_text())
    return {p["id"]: np.asarray(p["grid"]) for p in data["pieces"]}


def test_generate_gives_audio_pictures_and_files_of_the_asked_length(client, models):
    import soundfile

    for model in models["all"]:
        audio, roll, mel, midi, wav, note, info = _music(client, model, bars=2)
        seconds = soundfile.info(audio).duration
        assert abs(seconds - (2 * 2.0 + 1.0)) < 0.05, model  # two 2-second bars and the 1-second tail
        assert Path(wav).read_bytes()[:4] == b"RIFF" and Path(midi).read_bytes()[:4] == b"MThd"
        assert _grid_of(midi).shape == (2 * 16, 4)  # the MIDI file ends where the grid does
        assert Image.open(roll).size[0] > 300 and Image.open(mel).size[0] > 300
        assert model in info and "held-out Bach" in info


def test_same_seed_gives_the_same_music(client, models):
    for model in (models["autoregressive"] + models["latent"])[:2]:
        a = Path(_music(client, model, seed=5)[4]).read_bytes()
        b = Path(_music(client, model, side="right", seed=5)[4]).read_bytes()
        c = Path(_music(client, model, seed=6)[4]).read_bytes()
        assert a == b and a != c, model


def test_transformer_continues_a_held_out_opening(client, app_server, models):
    if not set(models["autoregressive"]) & set(models["openings"]):
        pytest.skip("no music Transformer with held-out openings")
    model = next(m for m in models["autoregressive"] if m in models["openings"])
    piece, grid = next(iter(_openings(app_server, model).items()))
    _, _, _, midi, _, note, _ = _music(client, model, opening=piece, opening_bars=2, bars=3)
    written = _grid_of(midi)
    np.testing.assert_array_equal(written[:32], grid[:32])  # Bach's two bars come back as they were
    assert written.shape == (5 * 16, 4) and "bars 1–2 are Bach's" in note and piece in note


def test_one_shot_models_say_the_opening_does_not_apply_and_longer_pieces_join_fragments(client, app_server, models):
    if not models["latent"] or not models["openings"]:
        pytest.skip("needs a one-shot music model and a model with openings")
    piece = next(iter(_openings(app_server, models["openings"][0])))
    note = _music(client, models["latent"][0], opening=piece, bars=6)[5]
    assert "Transformer only" in note and "joins several" in note


@pytest.mark.parametrize("changes,message", [
    ({"bars": 0}, "Bars must be from 1 to 8"), ({"bars": 9}, "Bars must be from 1 to 8"),
    ({"bars": 2.5}, "Bars must be a whole number"), ({"tempo": 39}, r"Tempo \(bpm\) must be a number from 40 to 200"),
    ({"tempo": 201}, r"Tempo \(bpm\) must be a number from 40 to 200"), ({"tempo": "fast"}, r"Tempo \(bpm\) must be"),
    ({"seed": -1}, "Seed must be from 0"), ({"seed": 2**31}, "Seed must be from 0"),
    ({"temperature": 3}, "Temperature must be a number from 0 to 2"),
])
def test_bad_music_input_gets_a_plain_error(client, models, changes, message):
    with pytest.raises(Exception, match=message):
        _music(client, models["all"][0], **changes)


def test_unknown_or_non_music_models_and_openings_get_a_plain_error(client, app_server, models):
    with pytest.raises(Exception, match="Unknown model 'no-such-model'"):
        _music(client, "no-such-model")
    with pytest.raises(Exception, match="is not a music model"):
        _music(client, models["other"][0])
    autoregressive = [m for m in models["autoregressive"] if m in models["openings"]]
    if autoregressive:
        with pytest.raises(Exception, match="is not one of the held-out chorales"):
            _music(client, autoregressive[0], opening="bach/no-such-piece")
        with pytest.raises(Exception, match="Opening bars must be from 1 to 3"):
            first = autoregressive[0]
            _music(client, first, opening=next(iter(_openings(app_server, first))), opening_bars=4)


def test_interpolation_between_held_out_fragments_and_seeds(client, app_server, models):
    if not models["latent"]:
        pytest.skip("no one-shot music model")
    seeds = "two seeds (noise)"
    audio, roll, midi, note = client.predict(models["latent"][0], seeds, 1, 2, "", "", 3, TEMPO,
                                             api_name="/interpolate_music")
    assert _grid_of(midi).shape == (3 * 64, 4) and "seed 1 → seed 2" in note
    if models["encoder"]:
        vae = models["encoder"][0]
        a, b = list(_openings(app_server, vae))[:2]
        audio, roll, midi, note = client.predict(vae, "two held-out fragments (encoder)", 1, 2, a, b, 4, TEMPO,
                                                 api_name="/interpolate_music")
        assert f"{a} → {b}" in note and Image.open(roll).size[0] > 300
    no_encoder = [m for m in models["latent"] if m not in models["encoder"]]
    if no_encoder:
        with pytest.raises(Exception, match="has no encoder"):
            client.predict(no_encoder[0], "two held-out fragments (encoder)", 1, 2, "x", "y", 3, TEMPO,
                           api_name="/interpolate_music")
    with pytest.raises(Exception, match="Steps must be from 2 to 6"):
        client.predict(models["latent"][0], seeds, 1, 2, "", "", 7, TEMPO, api_name="/interpolate_music")
    for autoregressive in models["autoregressive"][:1]:
        with pytest.raises(Exception, match="no latent space"):
            client.predict(autoregressive, seeds, 1, 2, "", "", 3, TEMPO, api_name="/interpolate_music")


def test_compare_generates_every_music_model_on_one_seed(client, models):
    outputs = client.predict(0, 2, TEMPO, api_name="/generate_all_music")
    assert len(outputs) == 2 * len(models["all"])  # a piano roll and a WAV each
    for roll, wav in zip(outputs[::2], outputs[1::2]):
        assert Image.open(roll).size[0] > 300 and Path(wav).read_bytes()[:4] == b"RIFF"
    with pytest.raises(Exception, match="Bars must be from 1 to 8"):
        client.predict(0, 12, TEMPO, api_name="/generate_all_music")
