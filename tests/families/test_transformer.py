"""The Transformer family: KV-cache step export, ORT decoding parity with PyTorch, sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.onnx.contract import StepInfo, validate_file
from studio.onnx.decoding import choose, generate, ort_step, sequence_nll, torch_step
from studio.onnx.runtime import AutoregressiveGenerator, load_generator
from studio.training.loop import LoopConfig, Trainer
from tests.builders import build_tiny, random_batches
from tests.conftest import recorded_warnings


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny image Transformer (random VQ-VAE), trained a few steps and exported."""
    torch.manual_seed(0)
    process = build_tiny("transformer", "image")
    data = process.example_batch(64)
    Trainer(process, random_batches(data, 8, seed=0, device="cpu"), LoopConfig(steps=3, warmup_steps=1),
            tmp_path_factory.mktemp("run"), show_progress=False).fit()
    out = tmp_path_factory.mktemp("export")
    report, warned = recorded_warnings(lambda: process.export(out))
    assert not warned, f"exporting the Transformer's step graph warned: {warned}"
    return process, report, out


def test_step_graph_follows_the_contract(exported):
    process, report, out = exported
    info = validate_file(report["onnx"])
    assert isinstance(info, StepInfo)
    assert (info.vocab, info.seq_len, info.bos) == (process.vocab, 49, process.vocab - 1)
    assert (out / info.decoder).exists() and report["kind"] == "autoregressive"


def test_kv_cache_decoding_in_ort_matches_pytorch_greedy(exported):
    process, report, _ = exported
    gen = load_generator(report["onnx"], device="cpu")
    assert isinstance(gen, AutoregressiveGenerator)
    ort_tokens = gen.tokens(6, temperature=0.0)
    torch_tokens = process.sample_tokens(6, temperature=0.0)
    np.testing.assert_array_equal(ort_tokens, torch_tokens)
    assert ort_tokens.shape == (6, 49) and (ort_tokens < process.vocab - 1).all()  # never BOS


def test_cache_and_recompute_give_the_same_samples(exported):
    _, report, _ = exported
    gen = load_generator(report["onnx"], device="cpu")
    cached = gen.tokens(4, seed=7, temperature=1.0, top_k=5)
    recomputed = gen.tokens(4, seed=7, temperature=1.0, top_k=5, use_cache=False)
    np.testing.assert_array_equal(cached, recomputed)


def test_teacher_forced_nll_through_the_exported_graph_is_the_training_nll(exported):
    process, report, _ = exported
    gen = load_generator(report["onnx"], device="cpu")
    tokens = torch.randint(0, process.vocab - 1, (5, 49), generator=torch.Generator().manual_seed(2))
    info = gen.info
    ours = sequence_nll(ort_step(gen.session), tokens.numpy(), info.bos, (info.layers, info.heads, info.head_dim))
    with torch.no_grad():
        reference = process.eval().token_nll(tokens).numpy()  # (5, 49) nats
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-5)


def test_samples_are_images_and_seeded(exported):
    _, report, _ = exported
    gen = load_generator(report["onnx"], device="cpu")
    a, b = gen.sample(3, seed=1), gen.sample(3, seed=1)
    assert a.dtype == np.uint8 and a.shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(a, b)
    assert gen.z_dim is None


def test_step_module_matches_full_forward():
    torch.manual_seed(0)
    process = build_tiny("transformer", "image").eval()
    step = process.step_module()
    tokens = torch.randint(0, process.vocab - 1, (2, 5))
    cfg = process.gpt.config
    empty = torch.zeros(cfg.n_layer, 2, 2, cfg.n_head, 0, cfg.n_embd // cfg.n_head)
    with torch.no_grad():
        logits_a, past = step(tokens[:, :3], empty)
        logits_b, _ = step(tokens[:, 3:], past)
        full = process.gpt(input_ids=tokens).logits[:, -1]
    torch.testing.assert_close(logits_b, full, atol=1e-5, rtol=1e-4)
    assert past.shape[4] == 3


def test_the_lean_training_forward_is_the_library_forward():
    from studio.layers.gpt import lean_logits

    torch.manual_seed(0)
    process = build_tiny("transformer", "image").eval()
    tokens = torch.randint(0, process.vocab, (3, 9))
    with torch.no_grad():
        torch.testing.assert_close(lean_logits(process.gpt, tokens), process.gpt(input_ids=tokens).logits,
                                   atol=1e-5, rtol=1e-4)


def test_choose_greedy_topk_and_bad_temperature():
    rng = np.random.default_rng(0)
    logits = np.array([[0.0, 5.0, 1.0], [3.0, 0.0, 2.9]])
    assert choose(logits, rng, temperature=0.0).tolist() == [1, 0]
    assert choose(logits, rng, temperature=1.0, top_k=1).tolist() == [1, 0]
    draws = np.array([choose(logits[:1], rng, temperature=1.0, top_k=2)[0] for _ in range(300)])
    assert set(draws) <= {1, 2}  # top-2 never draws the weakest token
    with pytest.raises(ValueError, match="temperature"):
        choose(logits, rng, temperature=-1.0)


def test_generate_with_a_torch_step_is_seeded():
    torch.manual_seed(0)
    process = build_tiny("transformer", "image").eval()
    cfg = process.gpt.config
    shape = (cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head)
    step = torch_step(process.step_module())
    a = generate(step, 2, 10, process.bos, shape, seed=3)
    b = generate(step, 2, 10, process.bos, shape, seed=3)
    np.testing.assert_array_equal(a, b)
