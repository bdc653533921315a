"""Transformer process: a GPT-2 (built by ``transformers`` from a config, nothing downloaded) over
token sequences, trained by next-token cross-entropy. It exports a single-step graph with explicit
KV-cache inputs/outputs, plus the decoder that turns a token sequence into a sample.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studio.families.base import GenerativeProcess, Phase


def build_gpt(vocab: int, seq_len: int, width: int, layers: int, heads: int, dropout: float = 0.1) -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=vocab, n_positions=seq_len + 1, n_embd=width, n_layer=layers, n_head=heads,
                        resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
                        bos_token_id=vocab - 1, eos_token_id=vocab - 1)
    return GPT2LMHeadModel(config)


class StepModule(nn.Module):
    """(tokens [B, T], past [L, 2, B, H, P, Dh]) -> (logits of the next token [B, V], present [L, 2, B, H, P+T, Dh])."""

    def __init__(self, gpt: nn.Module):
        super().__init__()
        self.gpt = gpt
        self.layers = gpt.config.n_layer

    def forward(self, tokens: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from transformers import DynamicCache

        past_len = past.shape[4]
        cache = DynamicCache(ddp_cache_data=[(past[i, 0], past[i, 1]) for i in range(self.layers)],
                             config=self.gpt.config)
        positions = torch.arange(past_len, past_len + tokens.shape[1], device=tokens.device)
        positions = positions.unsqueeze(0).expand(tokens.shape[0], -1)  # (B, T)
        out = self.gpt(input_ids=tokens, past_key_values=cache, position_ids=positions, use_cache=True)
        kv = out.past_key_values
        present = torch.stack([torch.stack([kv.layers[i].keys, kv.layers[i].values]) for i in range(self.layers)])
        return out.logits[:, -1], present


def _affine(conv1d: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """GPT-2's Conv1D (weight [in, out]) on x [..., in] as one MatMul + Add: the library's version
    flattens to 2-D and back, two Reshape nodes per projection in the exported graph."""
    return x @ conv1d.weight + conv1d.bias


class LeanStep(nn.Module):
    """The exported step graph: the same GPT-2 weights and maths as ``StepModule``, written out flat.

    (tokens [B, T], past [L, 2, B, H, P, Dh]) -> (logits [B, V], present [L, 2, B, H, P+T, Dh]).
    Without the library's cache objects and mask builders the 4-layer graph has 171 nodes instead of
    270, and node count is what a one-token decoding step pays for on a CPU. ``StepModule`` stays the
    PyTorch reference: the export checks this graph's greedy tokens against it.
    """

    def __init__(self, gpt: nn.Module):
        super().__init__()
        cfg = gpt.config
        self.wte, self.wpe = gpt.transformer.wte, gpt.transformer.wpe
        self.blocks, self.ln_f, self.head = gpt.transformer.h, gpt.transformer.ln_f, gpt.lm_head
        self.heads, self.head_dim = cfg.n_head, cfg.n_embd // cfg.n_head

    def forward(self, tokens: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t = tokens.shape
        p = past.shape[4]
        x = self.wte(tokens) + self.wpe(torch.arange(p, p + t, device=tokens.device))  # (B, T, C)
        # Query i (at position p + i) sees keys 0..p + i.
        keys, queries = torch.arange(p + t, device=tokens.device), p + torch.arange(t, device=tokens.device)
        visible = keys[None, :] <= queries[:, None]  # (T, P+T)
        presents = []
        for i, block in enumerate(self.blocks):
            q, k, v = _affine(block.attn.c_attn, block.ln_1(x)).split(x.shape[2], dim=2)  # (B, T, C) each
            q = q.view(b, t, self.heads, self.head_dim).transpose(1, 2)  # (B, H, T, Dh); k, v: (B, H, P+T, Dh)
            k = torch.cat([past[i, 0], k.view(b, t, self.heads, self.head_dim).transpose(1, 2)], dim=2)
            v = torch.cat([past[i, 1], v.view(b, t, self.heads, self.head_dim).transpose(1, 2)], dim=2)
            presents.append(torch.stack([k, v]))
            scores = (q @ k.transpose(2, 3)) / math.sqrt(self.head_dim)  # (B, H, T, P+T)
            weights = torch.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
            y = (weights @ v).transpose(1, 2).reshape(b, t, -1)  # (B, T, C)
            x = x + _affine(block.attn.c_proj, y)
            hidden = F.gelu(_affine(block.mlp.c_fc, block.ln_2(x)), approximate="tanh")  # GPT-2's "gelu_new"
            x = x + _affine(block.mlp.c_proj, hidden)
        return self.head(self.ln_f(x[:, -1])), torch.stack(presents)  # (B, V), (L, 2, B, H, P+T, Dh)


class TransformerProcess(GenerativeProcess):
    family = "transformer"
    kind = "autoregressive"

    def example_batch(self, n: int = 8) -> torch.Tensor:
        return torch.randint(0, self.vocab - 1, (n, self.seq_len))  # (N, T) token ids

    def __init__(self, gpt: nn.Module, *, modality: str, seq_len: int, decoder: nn.Module | None,
                 sample_shape: tuple[int, ...], lr: float = 1e-3, eval_tokens: torch.Tensor | None = None,
                 preview_fn: Any = None, charset: str | None = None, token_unit: str = "token",
                 likelihood_kind: str = "exact"):
        super().__init__()
        self.modality = modality
        self.gpt = gpt
        # tokens -> sample, trained in an earlier stage and frozen here; None when the tokens are the sample (text)
        self.decoder_head = decoder
        for p in self.decoder_head.parameters() if decoder is not None else ():
            p.requires_grad_(False)
        self.charset = charset
        self.token_unit = token_unit  # "token", or "char" for a character model
        self.likelihood_kind = likelihood_kind
        self.seq_len = seq_len
        self.vocab = gpt.config.vocab_size
        self.bos = self.vocab - 1
        self._sample_shape = tuple(sample_shape)
        self.lr = lr
        self.eval_tokens = eval_tokens
        self.preview_fn = preview_fn

    @property
    def z_dim(self) -> int:
        return 0

    def sample_shape(self) -> tuple[int, ...]:
        return self._sample_shape

    def _with_bos(self, tokens: torch.Tensor) -> torch.Tensor:
        bos = torch.full((tokens.shape[0], 1), self.bos, dtype=tokens.dtype, device=tokens.device)
        return torch.cat([bos, tokens], dim=1)  # (B, 1 + T)

    def nll(self, tokens: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy in nats over ``tokens`` [B, T]."""
        inputs = self._with_bos(tokens)[:, :-1]
        logits = self.gpt(input_ids=inputs).logits  # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1))

    def loss(self, tokens: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        nll = self.nll(tokens)
        return {"loss": nll, "bits_per_token": nll.detach() / math.log(2.0)}

    def phases(self) -> list[Phase]:
        return [Phase("transformer", self.gpt, self.loss, lr=self.lr, betas=(0.9, 0.95), weight_decay=0.1)]

    def step_module(self) -> StepModule:
        return StepModule(self.gpt).eval()

    @torch.no_grad()
    def test_bits_per_token(self, tokens: torch.Tensor, batch_size: int = 500) -> float:
        self.eval()
        device = next(self.parameters()).device
        total = sum(float(self.nll(tokens[i : i + batch_size].to(device))) * len(tokens[i : i + batch_size])
                    for i in range(0, len(tokens), batch_size))
        return total / len(tokens) / math.log(2.0)

    @torch.no_grad()
    def likelihood_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        bpt = self.test_bits_per_token(data["test_tokens"])
        return {f"nll_bits_per_{self.token_unit}": bpt, f"nll_nats_per_{self.token_unit}": bpt * math.log(2.0),
                "likelihood_kind": self.likelihood_kind}

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        if self.eval_tokens is None:
            return {}
        return {f"bits_per_{self.token_unit}": self.test_bits_per_token(self.eval_tokens[:2000])}

    @torch.no_grad()
    def sample_tokens(self, n: int, seed: int = 0, temperature: float = 1.0, top_k: int = 0) -> np.ndarray:
        from studio.sampling import generate, torch_step

        cfg = self.gpt.config
        self.eval()
        return generate(torch_step(self.step_module()), n, self.seq_len, self.bos,
                        (cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head), seed=seed, temperature=temperature,
                        top_k=top_k)

    @torch.no_grad()
    def write_preview(self, path: Path, step: int) -> None:
        if self.preview_fn is not None:
            tokens = torch.from_numpy(self.sample_tokens(32, seed=0))
            self.preview_fn(tokens.numpy() if self.decoder_head is None else self.decoder_head.eval()(tokens).numpy(),
                            path)

    def generator_params(self) -> int:
        decoder = self.decoder_head.parameters() if self.decoder_head is not None else ()
        return sum(p.numel() for p in self.gpt.parameters()) + sum(p.numel() for p in decoder)

    def export(self, entry_dir: Path) -> dict[str, Any]:
        """generator.onnx (the KV-cache step graph) and decoder.onnx (tokens -> sample), both checked in ORT."""
        import onnxruntime as ort

        from studio.contract import (CODES_INPUT, LOGITS_OUTPUT, PAST_INPUT, PRESENT_OUTPUT, SAMPLE_OUTPUT,
                                     TOKENS_INPUT, generator_metadata, step_metadata, validate_step_session)
        from studio.export import check_parity, export_onnx
        from studio.sampling import generate, ort_step, torch_step

        self.cpu().eval()
        cfg = self.gpt.config
        layers, heads, head_dim = cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head
        batch = torch.export.Dim("batch", min=1, max=4096)
        decoder_path, step_path = entry_dir / "decoder.onnx", entry_dir / "generator.onnx"
        tmp_decoder, tmp_step = entry_dir / ".decoder.onnx.tmp", entry_dir / ".generator.onnx.tmp"
        if self.decoder_head is not None:
            example_codes = torch.randint(0, self.vocab - 1, (2, self.seq_len))
            export_onnx(self.decoder_head.eval(), (example_codes,), tmp_decoder, input_names=[CODES_INPUT],
                        output_names=[SAMPLE_OUTPUT], dynamic_shapes={"codes": {0: batch}},
                        metadata={**generator_metadata(family=self.family, modality=self.modality, z_dim=0,
                                                       sample_shape=self.sample_shape()), "studio.kind": "decoder"})
        seq, past_len = torch.export.Dim("seq", min=1, max=self.seq_len + 1), torch.export.Dim("past", min=0,
                                                                                             max=self.seq_len + 1)
        step = self.step_module()
        example = (torch.randint(0, self.vocab, (2, 3)), torch.zeros(layers, 2, 2, heads, 5, head_dim))
        export_onnx(LeanStep(self.gpt).eval(), example, tmp_step, input_names=[TOKENS_INPUT, PAST_INPUT],
                    output_names=[LOGITS_OUTPUT, PRESENT_OUTPUT],
                    dynamic_shapes={"tokens": {0: batch, 1: seq}, "past": {2: batch, 4: past_len}},
                    metadata=step_metadata(family=self.family, modality=self.modality, vocab=self.vocab,
                                           bos=self.bos, seq_len=self.seq_len, layers=layers, heads=heads,
                                           head_dim=head_dim,
                                           decoder=decoder_path.name if self.decoder_head is not None else "",
                                           sample_shape=self.sample_shape(), charset=self.charset))
        session = ort.InferenceSession(str(tmp_step), providers=["CPUExecutionProvider"])
        validate_step_session(session)
        # Parity: ORT's cached greedy decoding picks the very tokens PyTorch picks.
        shape = (layers, heads, head_dim)
        ort_tokens = generate(ort_step(session), 4, self.seq_len, self.bos, shape, temperature=0.0)
        torch_tokens = generate(torch_step(step), 4, self.seq_len, self.bos, shape, temperature=0.0)
        if not np.array_equal(ort_tokens, torch_tokens):
            raise RuntimeError("ORT's KV-cache decoding picks other tokens than PyTorch; the export is wrong")
        tmp_step.chmod(0o644)
        parity: dict[str, Any] = {"greedy_tokens_match": True}
        files = {}
        if self.decoder_head is not None:
            decoder = ort.InferenceSession(str(tmp_decoder), providers=["CPUExecutionProvider"])
            with torch.no_grad():
                expected = self.decoder_head(torch.from_numpy(ort_tokens)).numpy()
            parity.update(check_parity(expected, decoder.run([SAMPLE_OUTPUT], {CODES_INPUT: ort_tokens})[0]))
            tmp_decoder.chmod(0o644)
            tmp_decoder.replace(decoder_path)
            files["decoder"] = decoder_path.name
        tmp_step.replace(step_path)
        return {"onnx": step_path, "kind": "autoregressive", "files": files, "parity": parity}
