"""The text evaluation protocol: 5,000 generated lines for seed 2024, scored against the held-out plays.

Line models (GAN, VAE, flow) write ``LINE_LENGTH``-character lines; the character Transformer's
running text is cut into lines by the same rule as the data set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.evaluation.protocol import Generator, Protocol
from studio.text.codec import decode, decode_lines
from studio.text.data import LINE_LENGTH, MIN_LINE
from studio.text.metrics import TextReference, score_lines

N_SAMPLES = 5_000
SEED = 2024


def lines_from_text(text: str) -> list[str]:
    """The data set's rule for lines: stripped, MIN_LINE..LINE_LENGTH characters."""
    stripped = (line.strip() for line in text.split("\n"))
    return [line for line in stripped if MIN_LINE <= len(line) <= LINE_LENGTH]


def sample_lines(generator: Generator, n: int, seed: int = SEED, temperature: float = 1.0,
                 chars_per_sequence: int = 400, batch_size: int = 256) -> list[str]:
    """``n`` generated lines: a line model's samples, or a character model's running text cut into lines."""
    charset = generator.info.charset
    if charset is None:
        raise ValueError(f"{generator.path} is not a text generator (it has no charset)")
    if not generator.autoregressive:
        return decode_lines(generator.sample(n, seed=seed, temperature=temperature), charset)
    lines: list[str] = []
    newline = np.array([[charset.index("\n")]], dtype=np.int64)
    chunk = 0
    while len(lines) < n:
        ids = generator.continue_ids(np.repeat(newline, batch_size, axis=0), chars_per_sequence,
                                     seed=seed * 100_003 + chunk, temperature=temperature)
        for row in ids:
            lines.extend(lines_from_text(decode(row, charset))[1:])  # the first line may start mid-way: skip it
        chunk += 1
    return lines[:n]


def real_baseline(reference: TextReference, n_samples: int = N_SAMPLES) -> dict[str, Any]:
    """The held-out lines scored as if they were samples: the ceiling for every metric."""
    rng = np.random.default_rng(SEED)
    pick = rng.choice(len(reference.valid_lines), size=min(n_samples, len(reference.valid_lines)), replace=False)
    return score_lines([reference.valid_lines[i] for i in pick], reference)


PROTOCOL = Protocol(
    modality="text", n_samples=N_SAMPLES, seed=SEED,
    open_reference=lambda device: TextReference(device=device),
    draw=lambda generator, n, seed: sample_lines(generator, n, seed=seed), score=score_lines,
    real_baseline=real_baseline,
    real_baseline_what=f"{N_SAMPLES:,} held-out Shakespeare lines (shuffled) against the held-out lines",
)
