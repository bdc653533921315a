"""Text generators: the character GPT's KV-cache step graph in ORT, the VAE's encoder and draws, the character flow."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.layers.draws import centered_rank_draw
from studio.onnx.decoding import choose, generate, torch_step
from studio.onnx.runtime import AutoregressiveGenerator, OnnxGenerator, load_generator
from studio.text.recipes import random_windows
from studio.training.loop import LoopConfig, Trainer
from tests.builders import build_tiny, config_of


def _tiny(family: str):
    return build_tiny(family, "text")


@pytest.fixture(scope="module")
def char_gpt(tmp_path_factory):
    process = _tiny("transformer")
    text = torch.randint(0, len(process.charset), (5000,))
    Trainer(process, random_windows(text, process.seq_len, 8, seed=0, device="cpu"),
            LoopConfig(steps=3, warmup_steps=1), tmp_path_factory.mktemp("run"), show_progress=False).fit()
    out = tmp_path_factory.mktemp("export")
    report = process.export(out)
    return process, report, out


def test_char_gpt_exports_a_step_graph_with_its_charset_and_no_decoder(char_gpt):
    process, report, out = char_gpt
    assert report["files"] == {} and not (out / "decoder.onnx").exists()
    gen = load_generator(out / "generator.onnx", device="cpu")
    assert isinstance(gen, AutoregressiveGenerator)
    assert gen.info.charset == process.charset and gen.info.decoder == ""
    assert gen.info.vocab == len(process.charset) + 1 and gen.info.bos == len(process.charset)


def test_ort_kv_cache_decoding_matches_pytorch_greedy_past_the_context(char_gpt):
    process, _, out = char_gpt
    gen = load_generator(out / "generator.onnx", device="cpu")
    prompt = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    cfg = process.gpt.config
    count = 2 * gen.max_context  # long enough to slide the window twice
    ort_ids = gen.continue_ids(prompt, count, temperature=0.0)
    torch_ids = generate(torch_step(process.step_module()), 2, 3 + count, process.bos,
                         (cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head), temperature=0.0, prefix=prompt,
                         max_context=gen.max_context)[:, 3:]
    np.testing.assert_array_equal(ort_ids, torch_ids)
    assert ort_ids.shape == (2, count) and (ort_ids < len(process.charset)).all()  # BOS is never drawn


def test_streaming_yields_one_token_per_step_and_is_seeded(char_gpt):
    _, _, out = char_gpt
    gen = load_generator(out / "generator.onnx", device="cpu")
    prompt = np.zeros((1, 4), dtype=np.int64)
    steps = list(gen.stream_ids(prompt, 10, seed=5, temperature=1.0, top_p=0.9))
    assert len(steps) == 10 and all(s.shape == (1,) for s in steps)
    np.testing.assert_array_equal(np.stack(steps, 1), gen.continue_ids(prompt, 10, seed=5, top_p=0.9))


def test_top_p_keeps_the_nucleus_only():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    rng = np.random.default_rng(0)
    draws = {int(choose(logits, rng, 1.0, top_p=0.7)[0]) for _ in range(300)}
    assert draws == {0, 1}  # 0.5 + 0.3 covers 0.7; the tail is never drawn
    with pytest.raises(ValueError, match="top_p"):
        choose(logits, rng, 1.0, top_p=0.0)


def test_text_vae_exports_decoder_and_encoder_that_agree_with_pytorch(tiny_export):
    done = tiny_export("vae", "text")
    process, data, report, tmp_path = done.process, done.data, done.report, done.folder
    assert report["files"] == {"encoder": "encoder.onnx"} and report["parity"]["share_differing"] <= 0.01
    import onnxruntime as ort

    encoder = ort.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"])
    z = encoder.run(["z"], {"sample": data[:4].numpy()})[0]
    full = np.concatenate([z, np.zeros((4, process.sampling_dims), np.float32)], axis=1)  # greedy lines
    with torch.no_grad():
        # The encoder gives the posterior mean in the generator's noise coordinates (the fitted prior's).
        np.testing.assert_allclose(z, process.prior.to_noise(process.encoder(data[:4])[0]).numpy(), atol=1e-4)
        expected = process.export_module()(torch.from_numpy(full)).numpy()
    generator = OnnxGenerator(tmp_path / "generator.onnx", device="cpu")
    assert generator.z_dim == z.shape[1] + 48 and (generator.run(full) == expected).mean() > 0.99


def test_vae_draws_characters_with_its_noise_columns():
    process = _tiny("vae")
    head = process.export_module()
    latent = torch.randn(64, process.z_dim - process.sampling_dims)
    with torch.no_grad():
        greedy = head(torch.cat([latent, torch.zeros(64, 48)], 1))
        varied = head(torch.cat([latent[:1].expand(64, -1), torch.randn(64, 48)], 1))
        # zero noise is the greedy line: each character the decoder's most likely one given the line so far
        logits = process.decoder.eval()(latent, greedy)  # (64, 48, V), teacher-forced on the greedy line
    assert torch.equal(logits.argmax(-1), greedy)
    assert len({tuple(r) for r in varied.tolist()}) > 1  # one latent, many lines: the noise is used


def test_centered_rank_draw_is_exact_at_u_uniform_and_greedy_at_one_half():
    logits = torch.tensor([0.1, 2.0, -1.0, 0.5, 1.0])
    u = torch.rand(200_000, generator=torch.Generator().manual_seed(0))
    drawn = centered_rank_draw(logits.expand(len(u), -1), u)
    share = torch.bincount(drawn, minlength=5).float() / len(u)
    assert torch.allclose(share, torch.softmax(logits, 0), atol=0.005)
    wide = torch.randn(1000, 30) * 3
    assert torch.equal(centered_rank_draw(wide, torch.full((1000,), 0.5)), wide.argmax(-1))
    # a lower temperature (u nearer 1/2) draws the likeliest token more often
    near = centered_rank_draw(logits.expand(len(u), -1), 0.5 + (u - 0.5) * 0.3)
    assert (near == 1).float().mean() > share[1] + 0.1


def test_wgan_gp_critic_loss_has_its_penalty_and_generator_steps_less_often():
    process = _tiny("gan")
    batch = process.example_batch(8)
    out = process.d_loss(batch, 0)
    assert {"wasserstein", "gp"} <= set(out) and float(out["gp"].detach()) >= 0
    d, g = process.phases()
    assert d.every == 1 and g.every == config_of("gan", "text")["critic_steps"]
