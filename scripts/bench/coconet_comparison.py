#!/usr/bin/env python
"""Our likelihood figure closest to Coconet's frame-wise NLL on the JSB chorales, from the exported ONNX file.

    python scripts/bench/coconet_comparison.py                      # music-transformer (the default)
    python scripts/bench/coconet_comparison.py --check-record   # also reproduce the recorded bits/token (about 6 min)

Coconet (Huang et al. 2017, Table 1) reports 0.57 nats per frame on the 16th-note grid with random orderings:
a frame is one 16th-note step of the four voices, its NLL the sum over the voices, averaged over the test
pieces' frames. This script scores the held-out chorales the same way with the Transformer's step graph,
teacher-forced through ONNX Runtime: every piece in its original key, every 16th-note step scored once,
each predicted from at least 2 bars before it (64-step windows that overlap by 32; the first window of a
piece is scored in full). With ``--check-record`` it also scores the protocol's fragments (every
transposition, each fragment in full) and compares that with the bits/token in the model's metrics.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from studio.registry import manifest

WINDOW, OVERLAP = 64, 32  # steps: the model's context is one 4-bar fragment
COCONET_NATS_PER_FRAME = 0.57  # Huang et al. 2017, Table 1: 16th-note grid, random orderings


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default="music-transformer",
                        help="an autoregressive music model id (default: %(default)s)")
    parser.add_argument("--trained-dir", default=str(manifest.TRAINED_DIR),
                        help="the folder holding manifest.json (default: %(default)s)")
    parser.add_argument("--check-record", action="store_true",
                        help="also score the protocol's held-out fragments and compare with metrics.json")
    return parser.parse_args()


def piece_windows(grid: np.ndarray) -> tuple[list[np.ndarray], list[int]]:
    """Windows of WINDOW steps covering ``grid`` [T, 4], and from which step of each the scoring starts,
    so that every step is scored exactly once (the first window from its start, later ones from their overlap)."""
    from studio.music.data import windows

    length = len(grid)
    starts = list(range(0, length - WINDOW + 1, WINDOW - OVERLAP))
    if starts and starts[-1] + WINDOW < length:
        starts.append(length - WINDOW)  # the last steps, which the regular hop does not reach
    scored_until, out, score_from = 0, [], []
    for start in starts:
        out.append(windows([grid[start:]], WINDOW, WINDOW)[0])  # (WINDOW, 4), a leading hold made an onset
        score_from.append(scored_until - start)
        scored_until = start + WINDOW
    return out, score_from


def token_nll(generator, tokens: np.ndarray, batch: int = 200) -> np.ndarray:  # noqa: ANN001
    """Nats of every token of ``tokens`` int64 [N, 256] through the generator's step graph, in batches
    (the cache of a whole batch is copied at every step): float64 [N, 256]."""
    from studio.onnx.decoding import ort_step, sequence_nll

    info, step = generator.info, ort_step(generator.session)
    shape = (info.layers, info.heads, info.head_dim)
    return np.concatenate([sequence_nll(step, tokens[i : i + batch], info.bos, shape)
                           for i in range(0, len(tokens), batch)])


def frame_nll(generator, grids: list[np.ndarray]) -> tuple[float, int]:  # noqa: ANN001 - an AutoregressiveGenerator
    """Mean nats per 16th-note frame (the four voices' token NLLs summed) over every step of ``grids``."""
    wins, starts = [], []
    for grid in grids:
        w, s = piece_windows(grid)
        wins += w
        starts += s
    tokens = np.stack(wins).reshape(len(wins), -1)  # (W, WINDOW * 4), voices interleaved per step
    nll = token_nll(generator, tokens)
    per_step = nll.reshape(len(wins), WINDOW, 4).sum(axis=2)  # (W, WINDOW) nats per frame
    scored = np.arange(WINDOW)[None, :] >= np.asarray(starts)[:, None]  # (W, WINDOW)
    return float(per_step[scored].mean()), int(scored.sum())


def main() -> None:
    args = parse_args()
    from studio.music.data import augment, fragments, load_chorales
    from studio.onnx.runtime import AutoregressiveGenerator, load_generator

    root = Path(args.trained_dir)
    try:
        entry = manifest.get(args.model, root)
    except manifest.ManifestError as exc:
        sys.exit(f"error: {exc}")
    generator = load_generator(manifest.path_of(entry, "onnx", root), device="cpu")
    if entry["modality"] != "music" or not isinstance(generator, AutoregressiveGenerator):
        sys.exit(f"error: {args.model} is not an autoregressive music model; try music-transformer")
    valid = load_chorales(augment_train=False)["valid"]
    nats, frames = frame_nll(generator, valid.grids)
    print(f"{args.model} on the {len(valid.grids)} held-out chorales, original keys ({frames:,} frames): "
          f"{nats:.3f} nats per frame = {nats / 4 / math.log(2):.3f} bits per token")
    print(f"Coconet (Huang et al. 2017, Table 1, 16th-note grid, random orderings): "
          f"{COCONET_NATS_PER_FRAME:.2f} nats per frame")
    if args.check_record:
        tokens = fragments(augment(valid.grids, valid.piece_ids).grids)  # (N, 64, 4), every transposition
        tokens = tokens.reshape(len(tokens), -1)
        nll = token_nll(generator, tokens)
        bits = float(nll.mean() / math.log(2))
        recorded = json.loads(manifest.path_of(entry, "metrics", root).read_text()).get("likelihood")
        print(f"protocol fragments ({len(tokens):,}, every transposition, scored in full): {bits:.4f} bits/token "
              f"from the ONNX file; recorded {recorded:.4f}")


if __name__ == "__main__":
    main()
