"""Character statistics: the text readout that sees failure below the word level.

Word-bigram diversity is high when every "word" is unique nonsense, so it cannot tell a model that
writes ``yarrrrarrrrrrr`` from one that writes Shakespeare. Two character-level statistics can:

- the degenerate-line share: lines with a character run of ``RUN`` or more (``rrrr``, four spaces) or a
  vowelless word of ``VOWELLESS`` or more letters (``qgtk``). Held-out Shakespeare lines almost never do;
- the Jensen–Shannon divergence (bits, 0..1) between the samples' character 3-grams and those of held-out
  lines that no other readout uses. The held-out lines the protocol compares everything to score it too,
  on the same number of lines: that is the floor a finite sample reaches.

Numpy only; the held-out 3-gram table ships in ``trained/_reference`` (``TRIGRAMS``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

RUN = 4  # a character this many times in a row makes a line degenerate
VOWELLESS = 4  # ...as does a word of this many letters without a vowel (y counts as one: "rhythm", "fly")
TRIGRAMS = "shakespeare_trigrams.npz"
# A model past either line is flagged degenerate. Held-out lines: 0.1% degenerate lines and a JS of 0.02
# (5,000 lines) to 0.06 (1,000); a shuffled-character generator: 13% and 0.58; "rrrraaa": 100% and 1.0.
DEGENERATE_LINES = 0.10
DEGENERATE_JS = 0.25
BOUNDARY = "\n"  # marks each line's start and end, so a line's first and last characters count as 3-grams

_RUN = re.compile(r"(.)\1{" + str(RUN - 1) + ",}")
_VOWELLESS = re.compile(r"\b[b-df-hj-np-tv-xz]{" + str(VOWELLESS) + r",}\b")


def is_degenerate(line: str) -> bool:
    """A run of ``RUN`` equal characters, or a vowelless word of ``VOWELLESS``+ letters."""
    return bool(_RUN.search(line) or _VOWELLESS.search(line.lower()))


def degenerate_share(lines: Sequence[str]) -> float:
    """Share of ``lines`` that are degenerate (0 for no lines)."""
    return sum(map(is_degenerate, lines)) / len(lines) if lines else 0.0


def trigram_ids(lines: Iterable[str]) -> np.ndarray:
    """Every character 3-gram of every line (with BOUNDARY at both ends) as one int64 id: [total 3-grams]."""
    text = "".join(BOUNDARY + line + BOUNDARY for line in lines)
    codes = np.frombuffer(text.encode("latin-1", "replace"), dtype=np.uint8).astype(np.int64)
    if len(codes) < 3:
        return np.zeros(0, dtype=np.int64)
    ids = (codes[:-2] << 16) | (codes[1:-1] << 8) | codes[2:]  # (L - 2,)
    # 3-grams that span two lines ("x\n\n", "\n\ny") are not in any line: drop them
    keep = ~((codes[1:-1] == ord(BOUNDARY)) & ((codes[:-2] == ord(BOUNDARY)) | (codes[2:] == ord(BOUNDARY))))
    return ids[keep]


def trigram_counts(lines: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct 3-gram ids, their counts)."""
    return np.unique(trigram_ids(lines), return_counts=True)


def js_divergence(ids_p: np.ndarray, counts_p: np.ndarray, ids_q: np.ndarray, counts_q: np.ndarray) -> float:
    """Jensen–Shannon divergence in bits (0 = same distribution, 1 = disjoint) of two count tables."""
    if counts_p.sum() == 0 or counts_q.sum() == 0:
        return 1.0
    ids = np.union1d(ids_p, ids_q)
    p, q = np.zeros(len(ids)), np.zeros(len(ids))
    p[np.searchsorted(ids, ids_p)] = counts_p / counts_p.sum()
    q[np.searchsorted(ids, ids_q)] = counts_q / counts_q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float((a[nz] * np.log2(a[nz] / m[nz])).sum())

    return 0.5 * kl(p) + 0.5 * kl(q)


class TrigramTable:
    """The held-out lines' character 3-gram counts (lines the protocol's other readouts never see)."""

    def __init__(self, ids: np.ndarray, counts: np.ndarray, lines: int):
        self.ids, self.counts, self.lines = ids, counts, lines

    @classmethod
    def load(cls, path: str | Path) -> TrigramTable:
        with np.load(path) as z:
            return cls(z["ids"].astype(np.int64), z["counts"].astype(np.int64), int(z["lines"]))

    @classmethod
    def of(cls, lines: Sequence[str]) -> TrigramTable:
        ids, counts = trigram_counts(lines)
        return cls(ids, counts, len(lines))

    def save(self, path: str | Path) -> None:
        from studio.atomic import atomic_write

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, ids=self.ids.astype(np.uint32), counts=self.counts.astype(np.uint32),
                                    lines=np.int64(self.lines))

        atomic_write(Path(path), write)

    def divergence(self, lines: Sequence[str]) -> float:
        """JS divergence (bits) between ``lines``' 3-grams and the table's."""
        ids, counts = trigram_counts(lines)
        return js_divergence(ids, counts, self.ids, self.counts)
