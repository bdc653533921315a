"""Autoregressive decoding over a step graph with an explicit KV cache (numpy; ORT or torch).

``step(tokens, past) -> (logits, present)`` is any callable with the contract's step signature:
tokens int64 [B, T], past float32 [L, 2, B, H, P, Dh] -> logits [B, V] for the token after the
last one, and the cache grown by T. With ``use_cache=False`` every step feeds the whole prefix
and an empty cache: the same tokens, for a speed comparison.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

StepFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def choose(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0, top_k: int = 0) -> np.ndarray:
    """One token per row of logits [B, V]: greedy at temperature 0, else top-k sampling at ``temperature``."""
    if temperature < 0 or not np.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number >= 0, not {temperature}")
    if temperature == 0:
        return logits.argmax(1)
    scaled = logits.astype(np.float64) / temperature
    if top_k and top_k < scaled.shape[1]:
        kth = np.partition(scaled, -top_k, axis=1)[:, -top_k][:, None]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    gumbel = -np.log(-np.log(rng.random(scaled.shape)))  # Gumbel-max: an exact categorical draw
    return (scaled + gumbel).argmax(1)


def generate(step: StepFn, n: int, length: int, bos: int, cache_shape: tuple[int, int, int], seed: int = 0,
             temperature: float = 1.0, top_k: int = 0, use_cache: bool = True,
             prefix: np.ndarray | None = None) -> np.ndarray:
    """Sample ``length`` tokens for ``n`` sequences after BOS (and an optional prefix [n, p]): int64 [n, length]."""
    layers, heads, head_dim = cache_shape
    rng = np.random.default_rng(seed)
    tokens = np.full((n, 1), bos, dtype=np.int64)
    if prefix is not None:
        tokens = np.concatenate([tokens, prefix.astype(np.int64)], axis=1)
    empty = np.zeros((layers, 2, n, heads, 0, head_dim), dtype=np.float32)
    logits, past = step(tokens, empty)
    out = [] if prefix is None else [prefix.astype(np.int64)]
    produced = 0 if prefix is None else prefix.shape[1]
    while produced < length:
        logits = logits.copy()
        logits[:, bos] = -np.inf  # BOS only starts a sequence; it is never a sample
        nxt = choose(logits, rng, temperature, top_k).astype(np.int64)[:, None]  # (n, 1)
        out.append(nxt)
        produced += 1
        if produced == length:
            break
        if use_cache:
            logits, past = step(nxt, past)
        else:
            tokens = np.concatenate([tokens, nxt], axis=1)
            logits, _ = step(tokens, empty)
    return np.concatenate(out, axis=1)


def ort_step(session) -> StepFn:  # noqa: ANN001 - an onnxruntime.InferenceSession
    def step(tokens: np.ndarray, past: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, present = session.run(["logits", "present"], {"tokens": tokens, "past": past})
        return logits, present

    return step


def torch_step(module) -> StepFn:  # noqa: ANN001 - a studio.families.transformer.StepModule
    import torch

    def step(tokens: np.ndarray, past: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            logits, present = module(torch.from_numpy(tokens), torch.from_numpy(past))
        return logits.numpy(), present.numpy()

    return step
