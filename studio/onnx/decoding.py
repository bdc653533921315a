"""Autoregressive decoding over a step graph with an explicit KV cache (numpy; ORT or torch).

``step(tokens, past) -> (logits, present)`` is any callable with the contract's step signature:
tokens int64 [B, T], past float32 [L, 2, B, H, P, Dh] -> logits [B, V] for the token after the
last one, and the cache grown by T. With ``use_cache=False`` every step feeds the whole prefix
and an empty cache: the same tokens, for a speed comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

StepFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def choose(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0, top_k: int = 0,
           top_p: float = 1.0) -> np.ndarray:
    """One token per row of logits [B, V]: greedy at temperature 0, else a draw at ``temperature``
    from the ``top_k`` most likely tokens (0: all) and the nucleus holding ``top_p`` of the mass."""
    if temperature < 0 or not np.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number >= 0, not {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], not {top_p}")
    if temperature == 0:
        return logits.argmax(1)
    scaled = logits.astype(np.float64) / temperature
    if top_k and top_k < scaled.shape[1]:
        kth = np.partition(scaled, -top_k, axis=1)[:, -top_k][:, None]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    if top_p < 1:
        order = np.argsort(-scaled, axis=1)  # (B, V) most likely first
        ranked = np.take_along_axis(scaled, order, axis=1)
        probs = np.exp(ranked - ranked[:, :1])
        probs /= probs.sum(axis=1, keepdims=True)
        beyond = np.cumsum(probs, axis=1) - probs > top_p  # the mass before a token already covers top_p
        drop = np.zeros_like(beyond)
        np.put_along_axis(drop, order, beyond, axis=1)
        scaled = np.where(drop, -np.inf, scaled)
    gumbel = -np.log(-np.log(rng.random(scaled.shape)))  # Gumbel-max: an exact categorical draw
    return (scaled + gumbel).argmax(1)


def stream(step: StepFn, n: int, count: int, bos: int, cache_shape: tuple[int, int, int], seed: int = 0,
           temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, use_cache: bool = True,
           prefix: np.ndarray | None = None, max_context: int | None = None) -> Iterator[np.ndarray]:
    """Yield ``count`` new tokens, one int64 [n] array per step, after BOS and an optional prefix [n, p].

    ``max_context`` is the most positions the model has (BOS included): when the sequence
    outgrows it, decoding goes on from BOS plus the last half of the context, recomputed.
    """
    layers, heads, head_dim = cache_shape
    rng = np.random.default_rng(seed)
    start = np.full((n, 1), bos, dtype=np.int64)
    context = start if prefix is None else np.concatenate([start, prefix.astype(np.int64)], axis=1)
    if max_context is not None and context.shape[1] > max_context:
        context = np.concatenate([start, context[:, -(max_context - 1):]], axis=1)
    empty = np.zeros((layers, 2, n, heads, 0, head_dim), dtype=np.float32)
    logits, past = step(context, empty)
    for i in range(count):
        logits = logits.copy()
        logits[:, bos] = -np.inf  # BOS only starts a sequence; it is never a sample
        nxt = choose(logits, rng, temperature, top_k, top_p).astype(np.int64)[:, None]  # (n, 1)
        yield nxt[:, 0]
        if i == count - 1:
            return
        context = np.concatenate([context, nxt], axis=1)
        if max_context is not None and context.shape[1] > max_context:
            context = np.concatenate([start, context[:, -(max_context // 2):]], axis=1)
            logits, past = step(context, empty)
        elif use_cache:
            logits, past = step(nxt, past)
        else:
            logits, _ = step(context, empty)


def generate(step: StepFn, n: int, length: int, bos: int, cache_shape: tuple[int, int, int], seed: int = 0,
             temperature: float = 1.0, top_k: int = 0, use_cache: bool = True,
             prefix: np.ndarray | None = None, top_p: float = 1.0, max_context: int | None = None) -> np.ndarray:
    """``length`` tokens for ``n`` sequences after BOS, the optional prefix [n, p] included: int64 [n, length]."""
    given = 0 if prefix is None else prefix.shape[1]
    new = [t[:, None] for t in stream(step, n, length - given, bos, cache_shape, seed=seed, temperature=temperature,
                                      top_k=top_k, top_p=top_p, use_cache=use_cache, prefix=prefix,
                                      max_context=max_context)]
    parts = ([] if prefix is None else [prefix.astype(np.int64)]) + new
    return np.concatenate(parts, axis=1)


def sequence_nll(step: StepFn, tokens: np.ndarray, bos: int, cache_shape: tuple[int, int, int]) -> np.ndarray:
    """Teacher-forced negative log-likelihood, in nats, of every token of ``tokens`` int64 [n, T] after BOS:
    float64 [n, T]. One step per token through the cache, so it scores the exported graph itself."""
    layers, heads, head_dim = cache_shape
    n, length = tokens.shape
    empty = np.zeros((layers, 2, n, heads, 0, head_dim), dtype=np.float32)
    logits, past = step(np.full((n, 1), bos, dtype=np.int64), empty)
    nll = np.empty((n, length), dtype=np.float64)
    for t in range(length):
        scaled = logits.astype(np.float64)  # (n, V): the whole softmax, as training scored it
        top = scaled.max(axis=1)
        log_norm = top + np.log(np.exp(scaled - top[:, None]).sum(axis=1))
        nll[:, t] = log_norm - scaled[np.arange(n), tokens[:, t]]
        if t < length - 1:
            logits, past = step(tokens[:, t : t + 1].astype(np.int64), past)
    return nll


def ort_step(session, bind_cache: bool | None = None) -> StepFn:  # noqa: ANN001 - an onnxruntime.InferenceSession
    """A step over an ORT session. With ``bind_cache`` the cache stays an OrtValue on the session's device
    between steps (I/O binding): a step reads the previous step's ``present`` where it lies instead of a
    numpy copy of it, and on CUDA the cache never crosses to the host. Only the logits come back as numpy.
    By default it binds on CUDA only: on a CPU the plain call measured as fast (the copy is cheap there)."""
    on_cuda = session.get_providers()[0] == "CUDAExecutionProvider"
    if not (on_cuda if bind_cache is None else bind_cache):
        def plain(tokens: np.ndarray, past: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            logits, present = session.run(["logits", "present"], {"tokens": tokens, "past": past})
            return logits, present

        return plain
    device = "cuda" if on_cuda else "cpu"
    binding = session.io_binding()

    def bound(tokens: np.ndarray, past):  # noqa: ANN001, ANN202 - past: numpy or the OrtValue of the last step
        binding.bind_cpu_input("tokens", np.ascontiguousarray(tokens))
        if isinstance(past, np.ndarray):
            binding.bind_cpu_input("past", past)
        else:
            binding.bind_ortvalue_input("past", past)
        binding.bind_output("logits", "cpu")
        binding.bind_output("present", device)
        session.run_with_iobinding(binding)
        logits, present = binding.get_outputs()
        return logits.numpy(), present

    return bound


def torch_step(module) -> StepFn:  # noqa: ANN001 - a studio.families.transformer.StepModule
    import torch

    device = next(module.parameters()).device  # numpy in and out, wherever the model lives (a preview on CUDA)

    def step(tokens: np.ndarray, past: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            logits, present = module(torch.from_numpy(tokens).to(device), torch.from_numpy(past).to(device))
        return logits.cpu().numpy(), present.cpu().numpy()

    return step
