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
from studio.layers.gpt import LeanStep, StepModule, lean_logits


class TransformerProcess(GenerativeProcess):
    family = "transformer"
    kind = "autoregressive"

    def example_batch(self, n: int = 8) -> torch.Tensor:
        return torch.randint(0, self.vocab - 1, (n, self.seq_len))  # (N, T) token ids

    def __init__(self, gpt: nn.Module, *, modality: str, seq_len: int, decoder: nn.Module | None,
                 sample_shape: tuple[int, ...], lr: float = 1e-3, eval_tokens: torch.Tensor | None = None,
                 preview_fn: Any = None, charset: str | None = None, likelihood_unit: str = "bits/token",
                 likelihood_note: str = ""):
        super().__init__(modality=modality, charset=charset)
        self.gpt = gpt
        # tokens -> sample, trained in an earlier stage and frozen here; None when the tokens are the sample (text)
        self.decoder_head = decoder
        for p in self.decoder_head.parameters() if decoder is not None else ():
            p.requires_grad_(False)
        self.likelihood_unit = likelihood_unit  # e.g. "bits/char" for a character model
        self.likelihood_note = likelihood_note  # what the held-out likelihood is computed over
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
        return self.token_nll(tokens).mean()

    def loss(self, tokens: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        nll = self.nll(tokens)
        return {"loss": nll, "bits": nll.detach() / math.log(2.0)}

    def phases(self) -> list[Phase]:
        return [Phase("transformer", self.gpt, self.loss, lr=self.lr, betas=(0.9, 0.95), weight_decay=0.1)]

    def step_module(self) -> StepModule:
        return StepModule(self.gpt).eval()

    def token_nll(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token cross-entropy in nats of each token of ``tokens`` [B, T]: [B, T]."""
        logits = lean_logits(self.gpt, self._with_bos(tokens)[:, :-1])  # (B, T, V)
        return F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")  # (B, T)

    @torch.no_grad()
    def test_bits_per_token(self, tokens: torch.Tensor, batch_size: int = 500, score_from: int = 0) -> float:
        """Mean bits per scored token of held-out windows [N, T]: every position of window 0, positions
        ``score_from``.. of the others (windows that overlap by ``score_from`` tokens score each token once)."""
        self.eval()
        device = next(self.parameters()).device
        total, count = 0.0, 0
        for i in range(0, len(tokens), batch_size):
            nll = self.token_nll(tokens[i : i + batch_size].to(device))  # (b, T)
            scored = torch.arange(nll.shape[1], device=device)[None, :] >= score_from  # (1, T)
            scored = scored.expand_as(nll).clone()
            if i == 0:
                scored[0] = True
            total += float(nll[scored].sum())
            count += int(scored.sum())
        return total / count / math.log(2.0)

    @torch.no_grad()
    def likelihood_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        bits = self.test_bits_per_token(data["test_tokens"], score_from=data.get("test_score_from", 0))
        return {"likelihood": bits, "likelihood_unit": self.likelihood_unit,
                "likelihood_kind": "exact", "likelihood_note": self.likelihood_note}

    @torch.no_grad()
    def evaluate(self, split: str = "val") -> dict[str, float]:
        if self.eval_tokens is None:
            return {}
        return {"likelihood": self.test_bits_per_token(self.eval_tokens[:2000])}

    @torch.no_grad()
    def sample_tokens(self, n: int, seed: int = 0, temperature: float = 1.0, top_k: int = 0) -> np.ndarray:
        from studio.onnx.decoding import generate, torch_step

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
        from studio.onnx.export import export_step_graph

        self.cpu().eval()
        cfg = self.gpt.config
        return export_step_graph(
            LeanStep(self.gpt).eval(), self.step_module(), self.decoder_head, Path(entry_dir), family=self.family,
            modality=self.modality, vocab=self.vocab, bos=self.bos, seq_len=self.seq_len, layers=cfg.n_layer,
            heads=cfg.n_head, head_dim=cfg.n_embd // cfg.n_head, sample_shape=self.sample_shape(),
            charset=self.charset)
