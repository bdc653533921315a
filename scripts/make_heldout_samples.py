#!/usr/bin/env python
"""Write the real items that the Evaluate tab mixes with generated ones, all from held-out data (never the
training data), into trained/_heldout/ (the app reads only trained/):

- images.npz: 300 Fashion-MNIST **test** images, 30 per class;
- lines.txt: 100 passages of 3 consecutive lines from the held-out plays (300 lines);
- chorales.npz: 200 four-bar fragments of the held-out chorales.

    python scripts/make_heldout_samples.py
"""

from __future__ import annotations

import io

import numpy as np

from studio.atomic import atomic_write_bytes, atomic_write_text
from studio.registry.manifest import HELDOUT_DIR

# The file names, as the modalities' human_eval.py read them (those modules import the app's stack, so not here).
IMAGES_FILE, LINES_FILE, CHORALES_FILE = (HELDOUT_DIR / name for name in ("images.npz", "lines.txt", "chorales.npz"))
PASSAGE_LINES = 3

SEED = 2024
IMAGES_PER_CLASS = 30
PASSAGES = 100
FRAGMENTS = 200


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def images(rng: np.random.Generator) -> str:
    from studio.image.data import PROVENANCE, load_fashion_mnist

    test = load_fashion_mnist()["test"]
    picks = np.sort(np.concatenate([rng.choice(np.flatnonzero(test.labels == c), IMAGES_PER_CLASS, replace=False)
                                    for c in range(10)]))
    atomic_write_bytes(IMAGES_FILE, npz_bytes(images=test.images[picks], labels=test.labels[picks].astype(np.uint8),
                                              test_index=picks.astype(np.int32)))
    return (f"- `{IMAGES_FILE.name}`: {len(picks)} images of the Fashion-MNIST **test** set, {IMAGES_PER_CLASS} per "
            f"class (`test_index`: each one's index in the test set). {PROVENANCE}.")


def lines(rng: np.random.Generator) -> str:
    from studio.text.data import PROVENANCE, load_shakespeare

    corpus = load_shakespeare()
    valid = [corpus.decode(row).rstrip() for row in corpus.valid_lines]
    starts = np.sort(rng.choice(len(valid) - PASSAGE_LINES, PASSAGES, replace=False))
    passages = ["\n".join(valid[s : s + PASSAGE_LINES]) for s in starts]
    atomic_write_text(LINES_FILE, "\n\n".join(passages) + "\n")
    return (f"- `{LINES_FILE.name}`: {PASSAGES} passages of {PASSAGE_LINES} consecutive lines (blank-line separated), "
            f"as the line data set cuts them, from the held-out plays ({', '.join(corpus.held_out)}). {PROVENANCE}.")


def chorales(rng: np.random.Generator) -> str:
    from studio.music.data import PROVENANCE, fragments, load_chorales

    valid = load_chorales(augment_train=False)["valid"]
    every = fragments(valid.grids)  # (N, 64, 4), bar-aligned
    picks = np.sort(rng.choice(len(every), FRAGMENTS, replace=False))
    atomic_write_bytes(CHORALES_FILE, npz_bytes(fragments=every[picks].astype(np.int8)))
    return (f"- `{CHORALES_FILE.name}`: {FRAGMENTS} four-bar fragments (int8 grids [64 steps, 4 voices]) of the "
            f"{len(valid)} held-out chorales, in their original keys. {PROVENANCE}")


def main() -> None:
    import argparse

    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    from studio.image.human_eval import REAL_FILE as image_file
    from studio.music.human_eval import REAL_FILE as music_file
    from studio.text.human_eval import PASSAGE_LINES as passage_lines
    from studio.text.human_eval import REAL_FILE as text_file

    if (image_file, text_file, music_file, passage_lines) != (IMAGES_FILE, LINES_FILE, CHORALES_FILE, PASSAGE_LINES):
        raise SystemExit("the file names here and in the modalities' human_eval.py differ; make them agree")
    HELDOUT_DIR.mkdir(parents=True, exist_ok=True)
    parts = [f(np.random.default_rng(SEED)) for f in (images, lines, chorales)]
    atomic_write_text(HELDOUT_DIR / "card.md", (
        "# Held-out real items for human evaluation\n\n"
        "The Evaluate tab shows these beside generated items (\"Real or generated?\"). None of them was "
        f"trained on. Drawn with seed {SEED} by `python scripts/make_heldout_samples.py`.\n\n"
        + "\n".join(parts) + "\n"))
    for path in (IMAGES_FILE, LINES_FILE, CHORALES_FILE):
        print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
