#!/usr/bin/env python
"""Recompute a registered generator's metrics from its ONNX file alone, and compare with the record.

    python scripts/evaluate.py image-gan            # one entry
    python scripts/evaluate.py --all                # every image entry in the manifest
    python scripts/evaluate.py image-gan --write    # also update metrics.json (and the manifest sha is unchanged)
    python scripts/evaluate.py --real-baseline      # score 10,000 real training images: the best a generator can do

Uses the protocol's fixed sample count and seed, so the numbers match those recorded at training time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio import manifest
from studio.atomic import atomic_write_json
from studio.metrics.image import N_SAMPLES, SEED, ImageReference, evaluate_generator

COMPARED = ("fd", "precision", "recall", "density", "coverage", "classes_covered", "classes_covered_1k",
            "kl_to_uniform")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", nargs="*", help="manifest ids, e.g. image-gan")
    parser.add_argument("--all", action="store_true", help="every image generator in the manifest")
    parser.add_argument("--trained-dir", default=str(manifest.TRAINED_DIR))
    parser.add_argument("--samples", type=int, default=None, help=f"default: the recorded count ({N_SAMPLES})")
    parser.add_argument("--seed", type=int, default=None, help=f"default: the recorded seed ({SEED})")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--write", action="store_true", help="store the recomputed numbers in metrics.json")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="relative difference counted as a match")
    parser.add_argument("--real-baseline", action="store_true",
                        help="score the first 10,000 Fashion-MNIST training images (needs the data set)")
    args = parser.parse_args()

    if args.real_baseline:
        real_baseline(args.device)
        return

    root = Path(args.trained_dir)
    try:
        entries = manifest.entries(root)
    except manifest.ManifestError as exc:
        sys.exit(f"error: {exc}")
    chosen = [e for e in entries if e["modality"] == "image"] if args.all else []
    for model_id in args.ids:
        try:
            chosen.append(manifest.get(model_id, root))
        except manifest.ManifestError as exc:
            sys.exit(f"error: {exc}")
    if not chosen:
        sys.exit("error: name a model id (see trained/manifest.json) or pass --all")

    reference = ImageReference(device=args.device)
    mismatches = 0
    for entry in chosen:
        metrics_path = manifest.path_of(entry, "metrics", root)
        recorded = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
        n = args.samples or recorded.get("n_samples", N_SAMPLES)
        seed = args.seed if args.seed is not None else recorded.get("seed", SEED)
        fresh = evaluate_generator(manifest.path_of(entry, "onnx", root), n_samples=n, seed=seed,
                                   reference=reference, device=args.device)
        print(f"\n{entry['id']}  ({n} samples, seed {seed}, {fresh['provider']})")
        print(f"  {'metric':<20} {'recorded':>12} {'recomputed':>12}")
        for key in COMPARED:
            old, new = recorded.get(key), fresh[key]
            same = old is not None and abs(float(new) - float(old)) <= args.tolerance * max(1.0, abs(float(old)))
            mismatches += 0 if same or old is None else 1
            fmt = (lambda v: f"{v}") if isinstance(new, int) else (lambda v: f"{float(v):.4f}")
            old_s = "-" if old is None else fmt(old)
            print(f"  {key:<20} {old_s:>12} {fmt(new):>12}{'' if same or old is None else '   <- differs'}")
        if args.write:
            recorded.update(fresh)
            atomic_write_json(metrics_path, recorded)
    if mismatches and not args.write:
        print(f"\n{mismatches} number(s) differ from the record (tolerance {args.tolerance}).")
        sys.exit(1)


def real_baseline(device: str) -> None:
    """What real images score under the protocol: the ceiling for every generator."""
    from studio.data import DataMissing
    from studio.data.image import load_fashion_mnist
    from studio.metrics.image import score_images

    try:
        train = load_fashion_mnist()["train"].images[:N_SAMPLES, ..., None]
    except DataMissing as exc:
        sys.exit(f"error: {exc}")
    metrics = score_images(train, ImageReference(device=device))
    print(f"real training images ({N_SAMPLES}) against the test set:")
    for key in COMPARED:
        print(f"  {key:<20} {metrics[key]:>12.4f}" if isinstance(metrics[key], float) else f"  {key:<20} {metrics[key]:>12}")


if __name__ == "__main__":
    main()
