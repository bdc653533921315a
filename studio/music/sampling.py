"""Drawing music from any served generator: numpy and ONNX Runtime only (no torch), for the app and the protocol.

One-shot generators (GAN, VAE, flow) map noise to a finished 4-bar fragment, int64 [N, 64, 4].
The Transformer writes *interleaved* tokens: soprano, alto, tenor, bass of step 0, then of step
1, and so on (256 tokens per 4-bar fragment). Its step graph carries ``sample_shape`` [64, 4],
and the runtime lays its token rows out in that shape, row-major, which undoes the interleaving.

Longer pieces:
- a one-shot model writes independent fragments; a piece of more than 4 bars joins several
  (the joins are not composed, and the app says so);
- the Transformer continues bar by bar: when the piece outgrows its context window (4 bars),
  it restarts from BOS plus the last ``window - 1`` bars, cut on a bar line and made
  self-contained (a note held into the cut starts there), exactly as training fragments are
  cut. Voice and bar positions therefore stay where the model learned them.
"""

from __future__ import annotations

import numpy as np

from studio.music.data import HOLD, STEPS_PER_BAR, VOICES, check_grid, check_grids, sounding_tokens
from studio.onnx.runtime import AutoregressiveGenerator, OnnxGenerator

Generator = OnnxGenerator | AutoregressiveGenerator
TOKENS_PER_BAR = STEPS_PER_BAR * len(VOICES)  # 64 interleaved tokens per bar


def interleave(grids: np.ndarray) -> np.ndarray:
    """int [N, T, 4] -> int64 [N, 4T]: S, A, T, B of each step in turn (the Transformer's token order)."""
    grids = np.asarray(grids, dtype=np.int64)
    return grids.reshape(len(grids), -1)


def deinterleave(tokens: np.ndarray) -> np.ndarray:
    """int [N, 4T] -> int64 [N, T, 4]: the inverse of ``interleave``."""
    tokens = np.asarray(tokens, dtype=np.int64)
    if tokens.shape[-1] % len(VOICES):
        raise ValueError(f"interleaved music holds 4 tokens per step; got {tokens.shape[-1]} tokens")
    return tokens.reshape(len(tokens), -1, len(VOICES))


def cut_at(piece: np.ndarray, start: int) -> np.ndarray:
    """``piece[start:]`` [T - start, 4] cut as training fragments are: a hold on the first step becomes the onset
    of the note sounding there (a hold with nothing to hold stays a rest)."""
    piece = check_grid(piece)
    tail = piece[start:].copy()
    if len(tail):
        tail[0] = np.where(tail[0] == HOLD, sounding_tokens(piece)[start], tail[0])
    return tail


def fragment_bars(generator: Generator) -> int:
    """Bars in one fragment of ``generator`` (its sample, or its context window for the Transformer)."""
    steps = generator.info.sample_shape[0] if generator.info.sample_shape else 0
    if not steps or steps % STEPS_PER_BAR:
        raise ValueError(f"{generator.path} does not write whole bars (sample shape {generator.info.sample_shape})")
    return steps // STEPS_PER_BAR


def draw_fragments(generator: Generator, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
    """``n`` whole fragments for ``seed``: int64 [n, steps, 4] (one-shot noise scaled by T, or tokens at T)."""
    samples = generator.sample(n, seed=seed, temperature=temperature)
    return check_grids(samples)


def draw_piece(generator: Generator, bars: int, seed: int, temperature: float = 1.0,
               opening: np.ndarray | None = None) -> np.ndarray:
    """One piece of ``bars`` new bars: int64 [(opening bars +) bars * 16, 4].

    ``opening`` (int [k * 16, 4], whole bars) is continued by an autoregressive model and comes
    first in the result; a one-shot model cannot take one (ValueError).
    """
    if bars < 1:
        raise ValueError(f"bars must be at least 1, not {bars}")
    if isinstance(generator, AutoregressiveGenerator):
        return continue_piece(generator, opening, bars, seed, temperature)
    if opening is not None:
        raise ValueError("a one-shot model writes whole fragments from noise; it cannot continue an opening")
    per = fragment_bars(generator)
    count = -(-bars // per)  # fragments needed
    fragments = draw_fragments(generator, count, seed, temperature)  # (count, per * 16, 4)
    return fragments.reshape(-1, len(VOICES))[: bars * STEPS_PER_BAR]


def continue_piece(generator: AutoregressiveGenerator, opening: np.ndarray | None, bars: int, seed: int,
                   temperature: float = 1.0, top_k: int = 0) -> np.ndarray:
    """The opening (or nothing) and ``bars`` new bars, written bar-aligned within the model's window."""
    window = fragment_bars(generator)
    piece = np.zeros((0, len(VOICES)), dtype=np.int64) if opening is None else check_grid(opening)
    if len(piece) % STEPS_PER_BAR:
        raise ValueError(f"an opening must be whole bars ({STEPS_PER_BAR} steps each); got {len(piece)} steps")
    if len(piece) >= window * STEPS_PER_BAR:
        raise ValueError(f"an opening must be shorter than the model's {window}-bar window; got "
                         f"{len(piece) // STEPS_PER_BAR} bars")
    todo, chunk = bars, 0
    while todo:
        context_bars = min(len(piece) // STEPS_PER_BAR, window - 1)  # what the model reads before writing
        context = cut_at(piece, len(piece) - context_bars * STEPS_PER_BAR)  # empty when there is nothing yet
        new_bars = min(todo, window - context_bars)
        tokens = generator.continue_ids(interleave(context[None]), new_bars * TOKENS_PER_BAR,
                                        seed=seed * 100_003 + chunk, temperature=temperature, top_k=top_k)
        piece = np.concatenate([piece, deinterleave(tokens)[0]])
        todo, chunk = todo - new_bars, chunk + 1
    return piece
