#!/usr/bin/env python
"""Write the Lab's tiny image set: 400 Fashion-MNIST training images per class (4,000 in all), drawn with a
fixed seed, as a compressed uint8 array in trained/_lab/ (the app reads only trained/).

    python scripts/make_lab_data.py              # from the installed data set
    python scripts/make_lab_data.py --data-dir D
"""

from __future__ import annotations

import argparse
import io

import numpy as np

from studio.atomic import atomic_write_bytes, atomic_write_text
from studio.image.data import CLASS_NAMES, PROVENANCE, load_fashion_mnist
from studio.lab.view import IMAGES_FILE

PER_CLASS = 400
SEED = 2024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="where Fashion-MNIST is (default: the installed one)")
    args = parser.parse_args()
    train = load_fashion_mnist(args.data_dir)["train"]
    rng = np.random.default_rng(SEED)
    picks = np.sort(np.concatenate([rng.choice(np.flatnonzero(train.labels == c), PER_CLASS, replace=False)
                                    for c in range(len(CLASS_NAMES))]))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=train.images[picks], labels=train.labels[picks].astype(np.uint8),
                        train_index=picks.astype(np.int32))
    atomic_write_bytes(IMAGES_FILE, buffer.getvalue())
    atomic_write_text(IMAGES_FILE.with_name("card.md"), (
        "# The Lab's tiny image set\n\n"
        f"`{IMAGES_FILE.name}`: {len(picks):,} images of the Fashion-MNIST **training** set, {PER_CLASS} per class, "
        f"drawn with seed {SEED} (`train_index` gives each image's index in the training set). Only the Lab "
        "trains on them; nothing is scored on them.\n\n"
        f"Source: {PROVENANCE}.\n\nRebuild: `python scripts/make_lab_data.py`.\n"))
    print(f"wrote {IMAGES_FILE} ({IMAGES_FILE.stat().st_size / 1e6:.2f} MB, {len(picks):,} images)")


if __name__ == "__main__":
    main()
