#!/usr/bin/env python
"""Sweep every text generator's sampling temperature and record quality against diversity.

    python scripts/temperature_curves.py              # every text model: writes trained/<id>/temperature.json
    python scripts/temperature_curves.py text-gan     # some models
    python scripts/temperature_curves.py --no-write   # print the table only

At each temperature (0.5 to 1.5) the model writes 1,000 lines with the text protocol's seed; they are scored
by the protocol's metrics (real-word share, distinct-2, reference perplexity, degenerate lines). The app's
Compare tab draws the curves from these files, and the printed markdown table is README's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.registry import manifest


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", nargs="*", help="text model ids (default: every text model in the manifest)")
    parser.add_argument("--trained-dir", default=str(manifest.TRAINED_DIR),
                        help="the folder holding manifest.json (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=None, help="lines per temperature (default: 1000)")
    parser.add_argument("--no-write", action="store_true",
                        help="print the table without writing the files (default: write them)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from tqdm.auto import tqdm

    from studio.atomic import atomic_write_json
    from studio.onnx.runtime import load_generator
    from studio.text.metrics import ReferenceMissing, TextReference
    from studio.text.temperature import FILE, N_SAMPLES, markdown_table, sweep

    root = Path(args.trained_dir)
    try:
        entries = [e for e in manifest.entries(root) if e["modality"] == "text"]
        chosen = [manifest.get(i, root) for i in args.ids] if args.ids else entries
    except manifest.ManifestError as exc:
        sys.exit(f"error: {exc}")
    if not chosen:
        sys.exit(f"error: no text models are registered in {root}; train one with scripts/train_*.py --modality text")
    try:
        reference = TextReference(device="cpu")
    except ReferenceMissing as exc:
        sys.exit(f"error: {exc}")
    curves = {}
    for entry in tqdm(chosen, desc="temperature sweeps", unit="model"):
        onnx = manifest.path_of(entry, "onnx", root)
        curves[entry["id"]] = curve = sweep(load_generator(onnx, device="cpu"), reference,
                                            n_samples=args.samples or N_SAMPLES)
        if not args.no_write:
            atomic_write_json(onnx.parent / FILE, curve)
    print(markdown_table(curves))


if __name__ == "__main__":
    main()
