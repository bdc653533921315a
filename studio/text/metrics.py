"""Text metrics, shared by every text generator. Numpy and ONNX Runtime only.

Every model is scored on generated *lines* (``LINE_LENGTH`` characters, the unit the line GAN,
VAE and flow produce; the character Transformer's running text is cut into lines the same way
the data set was). Against the held-out plays' lines:

- distinct-1/2/3: distinct word n-grams / all word n-grams over the samples; the diversity and
  collapse readout. The held-out lines score ``distinct_2_real`` on the same number of lines;
  a model below half of it is flagged as collapsed.
- novelty: the share of generated 20-character spans that do not occur in the training text.
- real-word share: the share of generated words that are words of the training text.
- Fréchet distance on the frozen reference character model's line features.
- The reference model's perplexity (per character) of the samples; the held-out lines' own
  perplexity is ``ref_perplexity_real``.
- Character statistics (``charstats``): the degenerate-line share and the character 3-gram JS divergence
  to other held-out lines, each beside the held-out lines' own value on the same number of lines. A
  model past ``DEGENERATE_LINES`` or ``DEGENERATE_JS`` is flagged degenerate: word diversity means
  nothing when the words are not words.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from studio.evaluation.fidelity import frechet_distance
from studio.onnx.runtime import make_session
from studio.registry.manifest import TRAINED_DIR
from studio.text.charstats import DEGENERATE_JS, DEGENERATE_LINES, TRIGRAMS, TrigramTable, degenerate_share
from studio.text.codec import decode_lines, encode_lines
from studio.text.data import LINE_LENGTH

SPAN = 20  # novelty is measured on spans of this many characters
SPAN_KEEP = 16  # the committed table keeps the spans whose hash is 0 mod 16 (an unbiased 1/16 sample of span types)
# ...and of each kept hash its upper 32 bits (a chance match among ~270k entries is ~6e-5: negligible)
COLLAPSE_FRACTION = 0.5  # distinct-2 below this share of the held-out text's counts as collapse

REFERENCE_DIR = TRAINED_DIR / "_reference"
TEXT_MODEL = "char_reference.onnx"
TEXT_STATS = "shakespeare_reference.npz"
WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


class ReferenceMissing(FileNotFoundError):
    pass


def words(line: str) -> list[str]:
    return WORD.findall(line.lower())


def distinct_n(lines: list[str], n: int) -> float:
    """Distinct word n-grams / all word n-grams, pooled over ``lines`` (0 when there are none)."""
    grams = [tuple(ws[i : i + n]) for ws in map(words, lines) for i in range(len(ws) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def span_hashes(text: str, span: int = SPAN) -> np.ndarray:
    """uint64 [len - span + 1] polynomial hashes of every ``span``-character window (same text, same hash)."""
    codes = np.frombuffer(text.encode("latin-1", "replace"), dtype=np.uint8).astype(np.uint64)
    if len(codes) < span:
        return np.zeros(0, dtype=np.uint64)
    base = np.uint64(1_000_003)
    h = np.zeros(len(codes) - span + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrap-around modulo 2**64 is the hash
        for k in range(span):
            h = h * base + codes[k : k + len(h)]
    return h


def keep_sample(hashes: np.ndarray) -> np.ndarray:
    """The kept 1/16 of span hashes, as their upper 32 bits: uint32."""
    kept = hashes[hashes % np.uint64(SPAN_KEEP) == 0]
    return (kept >> np.uint64(32)).astype(np.uint32)


def span_table(text: str) -> np.ndarray:
    """The sorted, unique kept hashes of every span of ``text`` (what novelty looks spans up in)."""
    return np.unique(keep_sample(span_hashes(text)))


def novelty(lines: list[str], train_spans: np.ndarray) -> float:
    """Share of the lines' 20-character spans (in the kept 1/16 sample) absent from the training text."""
    spans = keep_sample(np.concatenate([span_hashes(line) for line in lines] or [np.zeros(0, np.uint64)]))
    if len(spans) == 0:
        return float("nan")
    found = np.searchsorted(train_spans, spans)
    found = np.clip(found, 0, len(train_spans) - 1)
    return float((train_spans[found] != spans).mean())


def line_lengths(ids: np.ndarray, charset: str) -> np.ndarray:
    """Characters per line up to the padding, plus one (the first pad says where the line ends): int [N]."""
    return np.array([min(len(line) + 1, ids.shape[1]) for line in decode_lines(ids, charset)])


class TextReference:
    """The frozen reference character model plus the held-out and training statistics it is compared to."""

    def __init__(self, reference_dir: str | Path = REFERENCE_DIR, device: str = "auto"):
        reference_dir = Path(reference_dir)
        model, stats, trigrams = reference_dir / TEXT_MODEL, reference_dir / TEXT_STATS, reference_dir / TRIGRAMS
        if not trigrams.exists() and model.exists():
            raise ReferenceMissing(f"the held-out character 3-gram table is missing from {reference_dir}; rebuild it "
                                   "with `python scripts/train_reference.py --modality text --trigrams-only`")
        if not model.exists() or not stats.exists():
            raise ReferenceMissing(f"the reference character model is missing from {reference_dir}; rebuild it with "
                                   "`python scripts/train_reference.py --modality text`")
        self.session = make_session(model, device=device)
        with np.load(stats) as z:
            self.charset = str(z["charset"])
            self.real_features = z["valid_features"].astype(np.float32)  # (5000, 128)
            self.valid_lines = [str(s) for s in z["valid_lines"]]
            self.train_spans = z["train_spans"]  # uint32, sorted (see span_table)
            self.vocabulary = frozenset(str(w) for w in z["train_words"])
            self.real_perplexity = float(z["valid_perplexity"])
        self.trigrams = TrigramTable.load(trigrams)

    def embed(self, ids: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """ids [N, LINE_LENGTH] -> (features [N, F], log-probability of each character [N, LINE_LENGTH])."""
        feats, logps = [], []
        for i in range(0, len(ids), batch_size):
            lp, f = self.session.run(["logprob", "features"], {"text": ids[i : i + batch_size].astype(np.int64)})
            feats.append(f)
            logps.append(lp)
        return np.concatenate(feats), np.concatenate(logps)

    def perplexity(self, ids: np.ndarray, logprob: np.ndarray) -> float:
        lengths = line_lengths(ids, self.charset)
        mask = np.arange(ids.shape[1])[None, :] < lengths[:, None]  # (N, T) the line and its end
        return float(np.exp(-(logprob * mask).sum() / mask.sum()))


def score_lines(lines: list[str], reference: TextReference) -> dict[str, object]:
    """All text metrics for generated ``lines`` (strings of at most LINE_LENGTH characters)."""
    ids = encode_lines(lines, reference.charset, LINE_LENGTH)
    feats, logprob = reference.embed(ids)
    real_lines = reference.valid_lines[: len(lines)]
    all_words = [w for line in lines for w in words(line)]
    metrics: dict[str, object] = {
        "fd": frechet_distance(feats, reference.real_features),
        "distinct_1": distinct_n(lines, 1), "distinct_2": distinct_n(lines, 2), "distinct_3": distinct_n(lines, 3),
        "distinct_2_real": distinct_n(real_lines, 2),
        "novelty": novelty(lines, reference.train_spans),
        "real_word_share": sum(w in reference.vocabulary for w in all_words) / max(1, len(all_words)),
        "ref_perplexity": reference.perplexity(ids, logprob),
        "ref_perplexity_real": reference.real_perplexity,
        "mean_line_chars": float(np.mean([len(line) for line in lines])) if lines else 0.0,
        "distinct_lines": len(set(lines)) / max(1, len(lines)),
        "degenerate_share": degenerate_share(lines), "degenerate_share_real": degenerate_share(real_lines),
        "char3_js": reference.trigrams.divergence(lines), "char3_js_real": reference.trigrams.divergence(real_lines),
    }
    metrics["collapsed"] = bool(metrics["distinct_2"] < COLLAPSE_FRACTION * metrics["distinct_2_real"])
    metrics["degenerate"] = bool(metrics["degenerate_share"] > DEGENERATE_LINES or metrics["char3_js"] > DEGENERATE_JS)
    return metrics
