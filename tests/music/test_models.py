"""Music generators: the interleaved-voice GPT's KV-cache step graph in ORT, bar-aligned continuation, the VAE's
sampling decoder and encoder, the flow's pitch-height channels, the GAN's one-hot/argmax views, and each
family's tiny pipeline run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from studio.music.data import FIRST_PITCH_TOKEN, HOLD, REST, VOCAB
from studio.music.recipes import TOKENS_PER_FRAGMENT, fragment_batch_example
from studio.music.sampling import continue_piece, cut_at, deinterleave, draw_piece, interleave
from studio.onnx.decoding import generate, torch_step
from studio.onnx.runtime import AutoregressiveGenerator, OnnxGenerator, load_generator
from studio.registry import manifest
from studio.training.loop import LoopConfig, Trainer
from tests.builders import build_tiny, random_batches

ROOT = Path(__file__).resolve().parents[2]


def _tiny(family: str):
    return build_tiny(family, "music")


@pytest.fixture(scope="module")
def music_gpt(tmp_path_factory):
    process = _tiny("transformer")
    tokens = interleave(fragment_batch_example(64).numpy())  # (64, 256)
    Trainer(process, random_batches(torch.from_numpy(tokens), 8, seed=0, device="cpu"),
            LoopConfig(steps=3, warmup_steps=1), tmp_path_factory.mktemp("run"), show_progress=False).fit()
    out = tmp_path_factory.mktemp("export")
    report = process.export(out)
    return process, report, out


def test_interleaving_is_step_major_and_round_trips():
    grids = np.arange(2 * 3 * 4).reshape(2, 3, 4)  # (N, T, 4)
    tokens = interleave(grids)
    assert tokens.shape == (2, 12) and list(tokens[0, :8]) == [0, 1, 2, 3, 4, 5, 6, 7]  # S, A, T, B of step 0, ...
    np.testing.assert_array_equal(deinterleave(tokens), grids)
    with pytest.raises(ValueError, match="4 tokens per step"):
        deinterleave(np.zeros((1, 6)))


def test_a_cut_mid_note_starts_with_that_note():
    note, bass = FIRST_PITCH_TOKEN + 20, FIRST_PITCH_TOKEN + 5
    grid = np.array([[note, REST, REST, bass], [HOLD, REST, HOLD, HOLD], [HOLD, note, REST, REST]])
    # soprano and bass were sounding: they start at the cut; the tenor's hold had nothing to hold: a rest
    np.testing.assert_array_equal(cut_at(grid, 1), [[note, REST, REST, bass], [HOLD, note, REST, REST]])
    np.testing.assert_array_equal(cut_at(grid, 0), grid)  # nothing before the start: as it was


def test_music_gpt_exports_a_step_graph_whose_samples_are_grids(music_gpt):
    process, report, out = music_gpt
    assert report["files"] == {} and report["parity"]["greedy_tokens_match"]  # no decoder, no openings without data
    gen = load_generator(out / "generator.onnx", device="cpu")
    assert isinstance(gen, AutoregressiveGenerator)
    assert gen.info.sample_shape == (64, 4) and gen.info.decoder == "" and gen.info.charset is None
    assert gen.info.vocab == VOCAB + 1 and gen.info.bos == VOCAB and gen.info.seq_len == TOKENS_PER_FRAGMENT
    samples = gen.sample(3, seed=1)
    assert samples.shape == (3, 64, 4) and samples.dtype == np.int64 and 0 <= samples.min() <= samples.max() < VOCAB
    np.testing.assert_array_equal(samples, gen.sample(3, seed=1))


def test_ort_kv_cache_greedy_matches_pytorch_greedy(music_gpt):
    process, _, out = music_gpt
    gen = load_generator(out / "generator.onnx", device="cpu")
    prompt = interleave(fragment_batch_example(2)[:, :16].numpy())  # one bar of each voice: (2, 64)
    cfg = process.gpt.config
    shape = (cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head)
    count = TOKENS_PER_FRAGMENT - prompt.shape[1]  # fill the window
    ort_ids = gen.continue_ids(prompt, count, temperature=0.0)
    torch_ids = generate(torch_step(process.step_module()), 2, TOKENS_PER_FRAGMENT, process.bos, shape,
                         temperature=0.0, prefix=prompt)[:, prompt.shape[1]:]
    np.testing.assert_array_equal(ort_ids, torch_ids)
    assert (ort_ids < VOCAB).all()  # BOS is never drawn


def test_transformer_continues_an_opening_bar_by_bar_past_its_window(music_gpt):
    _, _, out = music_gpt
    gen = load_generator(out / "generator.onnx", device="cpu")
    opening = fragment_batch_example(1)[0, :32].numpy()  # two bars
    piece = continue_piece(gen, opening, bars=6, seed=3)  # 2 + 6 bars: the 4-bar window slides three times
    assert piece.shape == (8 * 16, 4)
    np.testing.assert_array_equal(piece[:32], opening)
    np.testing.assert_array_equal(piece, continue_piece(gen, opening, bars=6, seed=3))
    assert not np.array_equal(piece, continue_piece(gen, opening, bars=6, seed=4))
    # Two bars fill the window; then the model reads the last three bars, cut on a bar line, and writes one more.
    greedy = continue_piece(gen, opening, bars=3, seed=0, temperature=0.0)
    context = cut_at(greedy[:64], 16)  # bars 2-4
    nxt = gen.continue_ids(interleave(context[None]), 64, temperature=0.0)
    np.testing.assert_array_equal(deinterleave(nxt)[0], greedy[64:80])
    with pytest.raises(ValueError, match="shorter than the model's 4-bar window"):
        continue_piece(gen, fragment_batch_example(1)[0].numpy(), bars=1, seed=0)
    with pytest.raises(ValueError, match="whole bars"):
        continue_piece(gen, opening[:20], bars=1, seed=0)


@pytest.mark.uses_music_vae
def test_music_vae_exports_a_sampling_decoder_and_an_encoder_that_agree_with_pytorch(tiny_export):
    import onnxruntime as ort

    done = tiny_export("vae", "music")
    process, data, report, tmp_path = done.process, done.data, done.report, done.folder
    assert report["files"]["encoder"] == "encoder.onnx" and report["parity"]["share_differing"] <= 0.01
    encoder = ort.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"])
    z = encoder.run(["z"], {"sample": data[:4].numpy()})[0]
    noise = np.random.default_rng(0).standard_normal((4, process.sampling_dims), dtype=np.float32)
    full = np.concatenate([z, noise], axis=1)  # (4, latent + 64*4): the latent, then one number per token
    with torch.no_grad():
        np.testing.assert_allclose(z, process.encoder(data[:4])[0].numpy(), atol=1e-4)
        expected = process.export_module()(torch.from_numpy(full)).numpy()  # (4, 64, 4)
    generator = OnnxGenerator(tmp_path / "generator.onnx", device="cpu")
    served = generator.run(full)
    assert generator.z_dim == z.shape[1] + 256 and served.shape == (4, 64, 4) and (served == expected).mean() > 0.99


def test_music_vae_draws_every_token_with_its_noise_column():
    process = _tiny("vae")
    head = process.export_module()
    latent = torch.zeros(32, process.z_dim - process.sampling_dims)
    low, high = torch.full((32, 256), -8.0), torch.full((32, 256), 8.0)  # u near 0 and near 1
    with torch.no_grad():
        first, last = head(torch.cat([latent, low], 1)), head(torch.cat([latent, high], 1))
        varied = head(torch.cat([latent, torch.randn(32, 256)], 1))
    assert (first == 0).all() and (last == VOCAB - 1).all()  # the CDF's two ends
    assert len({tuple(r) for r in varied.reshape(32, -1).tolist()}) > 1  # one latent, many fragments


def test_flow_reads_grids_step_by_step_soprano_first_and_writes_them_back():
    from studio.music.networks.flow import GridTokenDequantization

    deq = GridTokenDequantization(steps=64, voices=4)
    grids = fragment_batch_example(5)  # (5, 64, 4)
    assert deq.shape() == (256,) and deq.unit == "bits/token" and deq.units == deq.dims == 256
    assert deq.cell_log_volume == 0.0  # one token per unit cell: the bits/token is the music's own NLL
    x = deq.dequantize(grids)  # (5, 256)
    ids = torch.floor(x).long()
    assert torch.equal(ids[:, :4], grids[:, 0, :])  # the first step's soprano, alto, tenor, bass come first

    class Replay(torch.nn.Module):
        def sample_ids(self, z: torch.Tensor) -> torch.Tensor:
            return torch.floor(z).long()

    assert torch.equal(deq.head(Replay())(x), grids)  # the export head puts each token back in its cell


def test_gan_reads_one_hot_grids_and_exports_their_argmax():
    from studio.music.networks.gan import ArgmaxGrid, OneHotGrid

    grids = fragment_batch_example(3)
    one_hot = OneHotGrid(VOCAB)(grids)  # (3, 4 * 48, 64)
    assert one_hot.shape == (3, 4 * VOCAB, 64) and torch.equal(one_hot.sum(1), torch.full((3, 64), 4.0))

    class Fixed(torch.nn.Module):
        vocab = VOCAB

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return one_hot

    assert torch.equal(ArgmaxGrid(Fixed())(torch.zeros(3, 1)), grids)
    process = _tiny("gan")
    out = process.d_loss(grids, 0)
    assert {"wasserstein", "gp"} <= set(out) and process.phases()[1].every == 2


def test_one_shot_pieces_join_whole_fragments(tmp_path):
    from studio.onnx.export import export_generator

    process = _tiny("gan")
    path = tmp_path / "g.onnx"
    export_generator(process.export_module(), path, family="gan", modality="music", z_dim=process.z_dim,
                     sample_shape=process.sample_shape())
    gen = OnnxGenerator(path, device="cpu")
    piece = draw_piece(gen, bars=6, seed=2)
    fragments = gen.sample(2, seed=2)
    np.testing.assert_array_equal(piece, fragments.reshape(-1, 4)[: 6 * 16])
    with pytest.raises(ValueError, match="cannot continue an opening"):
        draw_piece(gen, bars=2, seed=0, opening=fragments[0, :16])


# -- every family through scripts/train_*.py, registered into a temporary trained/ ------------------------
FAMILIES = ("gan", "vae", "flow", "transformer")


@pytest.fixture(scope="module")
def tiny_registry(music_pipeline):
    """The session's four tiny music models, registered by the pipeline (conftest.music_pipeline)."""
    music_pipeline["vae"]  # the VAE joins the registry once its background run is read
    return music_pipeline["trained"]


@pytest.mark.slow
@pytest.mark.uses_music_vae
def test_tiny_pipeline_registers_every_music_family(tiny_registry):
    out = tiny_registry
    assert manifest.verify(out) == []
    entries = {e["id"]: e for e in manifest.entries(out)}
    assert set(entries) == {f"music-{f}" for f in FAMILIES}
    for family in FAMILIES:
        entry = entries[f"music-{family}"]
        metrics = json.loads(manifest.path_of(entry, "metrics", out).read_text())
        assert metrics["n_samples"] == 64 and metrics["seed"] == 2024 and entry["dataset"] == "bach-chorales"
        assert 0 <= metrics["consonance_on_beats"] <= 1 and metrics["fd"] > 0
        assert metrics["consonance_on_beats_real"] > 0.6  # the held-out chorales' own score travels along
        card = manifest.path_of(entry, "card", out).read_text()
        assert "2-bar windows" in card and "--modality music --preset tiny" in card
    likelihoods = {f: json.loads(manifest.path_of(entries[f"music-{f}"], "metrics", out).read_text()) for f in FAMILIES}
    assert likelihoods["transformer"]["likelihood_kind"].startswith("exact")
    assert likelihoods["flow"]["likelihood_kind"] == "dequantized" and likelihoods["flow"]["likelihood"] > 0
    assert likelihoods["vae"]["likelihood_kind"] == "bound" and likelihoods["vae"]["likelihood_unit"] == "bits/token"
    assert not any(k.startswith("likelihood") for k in likelihoods["gan"])  # a GAN has none: absent, not 0
    assert {"encoder", "openings"} <= set(entries["music-vae"]) and "openings" in entries["music-transformer"]
    openings = json.loads(manifest.path_of(entries["music-transformer"], "openings", out).read_text())
    assert len(openings["pieces"]) > 20 and np.asarray(openings["pieces"][0]["grid"]).shape == (64, 4)


@pytest.mark.slow
@pytest.mark.uses_music_vae
def test_recorded_music_metrics_are_reproduced_from_the_onnx_file(tiny_registry):
    from studio.evaluation.protocol import evaluate_file
    from studio.music.protocol import PROTOCOL

    for model_id in ("music-gan", "music-transformer"):
        entry = manifest.get(model_id, tiny_registry)
        recorded = json.loads(manifest.path_of(entry, "metrics", tiny_registry).read_text())
        fresh = evaluate_file(manifest.path_of(entry, "onnx", tiny_registry), PROTOCOL,
                              n_samples=recorded["n_samples"], seed=recorded["seed"], device="cpu")
        for key in ("fd", "pitch_class_kl", "consonance_on_beats", "novelty", "distinct_fragments"):
            assert fresh[key] == pytest.approx(recorded[key], rel=1e-6), (model_id, key)
