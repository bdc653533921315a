#!/usr/bin/env python
"""Recompute a registered generator's metrics from its ONNX file alone, and compare with the record.

    python scripts/evaluate.py image-gan text-vae   # some entries
    python scripts/evaluate.py --all                # every entry in the manifest
    python scripts/evaluate.py image-gan --write    # also update metrics.json (and the manifest sha is unchanged)
    python scripts/evaluate.py --real-baseline      # score real data: training images, held-out lines and chorales

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
from studio.metrics import image as image_metrics
from studio.metrics import music_protocol as music_metrics
from studio.metrics import text as text_metrics
from studio.metrics.image import N_SAMPLES, ImageReference

#: per modality: the protocol module and the numbers compared with the record
PROTOCOLS = {
    "image": (image_metrics, ("fd", "precision", "recall", "density", "coverage", "classes_covered",
                              "classes_covered_1k", "kl_to_uniform")),
    "text": (text_metrics, ("fd", "distinct_1", "distinct_2", "distinct_3", "novelty", "real_word_share",
                            "ref_perplexity")),
    "music": (music_metrics, ("frechet_distance", "pitch_class_kl", "consonance_on_beats", "out_of_range",
                              "voice_crossing", "parallel_5_8", "note_density", "verticals_per_bar", "novelty",
                              "distinct_fragments")),
}
#: per modality: its protocol's reference, opened once (music reads the cached chorales: no model to load)
REFERENCES = {"image": lambda device: ImageReference(device=device),
              "text": lambda device: text_metrics.TextReference(device=device),
              "music": lambda device: music_metrics.default_reference()}
COMPARED = PROTOCOLS["image"][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", nargs="*", help="manifest ids, e.g. image-gan")
    parser.add_argument("--all", action="store_true", help="every generator in the manifest")
    parser.add_argument("--trained-dir", default=str(manifest.TRAINED_DIR))
    parser.add_argument("--samples", type=int, default=None, help="default: the recorded count")
    parser.add_argument("--seed", type=int, default=None, help="default: the recorded seed")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--write", action="store_true", help="store the recomputed numbers in metrics.json")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="relative difference counted as a match")
    parser.add_argument("--real-baseline", action="store_true",
                        help="score real data as if it were samples: 10,000 Fashion-MNIST training images "
                             "(needs the data set) and 5,000 held-out Shakespeare lines")
    args = parser.parse_args()

    if args.real_baseline:
        real_baseline(args.device)
        return

    root = Path(args.trained_dir)
    try:
        entries = manifest.entries(root)
    except manifest.ManifestError as exc:
        sys.exit(f"error: {exc}")
    chosen = [e for e in entries if e["modality"] in PROTOCOLS] if args.all else []
    for model_id in args.ids:
        try:
            chosen.append(manifest.get(model_id, root))
        except manifest.ManifestError as exc:
            sys.exit(f"error: {exc}")
    if not chosen:
        sys.exit("error: name a model id (see trained/manifest.json) or pass --all")

    references: dict = {}
    mismatches = 0
    for entry in chosen:
        if entry["modality"] not in PROTOCOLS:
            sys.exit(f"error: no evaluation protocol for {entry['modality']} models yet")
        protocol, compared = PROTOCOLS[entry["modality"]]
        if entry["modality"] not in references:
            try:
                references[entry["modality"]] = REFERENCES[entry["modality"]](args.device)
            except FileNotFoundError as exc:
                sys.exit(f"error: {exc}")
        reference = references[entry["modality"]]
        metrics_path = manifest.path_of(entry, "metrics", root)
        recorded = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
        n = args.samples or recorded.get("n_samples", protocol.N_SAMPLES)
        seed = args.seed if args.seed is not None else recorded.get("seed", protocol.SEED)
        fresh = protocol.evaluate_generator(manifest.path_of(entry, "onnx", root), n_samples=n, seed=seed,
                                   reference=reference, device=args.device)
        print(f"\n{entry['id']}  ({n} samples, seed {seed}, {fresh['provider']})")
        print(f"  {'metric':<20} {'recorded':>12} {'recomputed':>12}")
        for key in compared:
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
    _print_row(metrics, PROTOCOLS["image"][1])
    try:
        text = text_metrics.real_baseline(reference=text_metrics.TextReference(device=device))
    except FileNotFoundError as exc:
        sys.exit(f"error: {exc}")
    print(f"\nheld-out Shakespeare lines ({text_metrics.N_SAMPLES}, shuffled) against the held-out lines:")
    _print_row(text, PROTOCOLS["text"][1] + ("distinct_2_real", "ref_perplexity_real", "collapsed"))
    try:
        music = music_metrics.real_baseline()
    except FileNotFoundError as exc:
        sys.exit(f"error: {exc}")
    print(f"\nheld-out Bach chorales ({music['n_samples']} fragments, every allowed key; the distribution terms "
          "compare one half of the pieces with the other):")
    _print_row(music, PROTOCOLS["music"][1] + ("collapsed",))


def _print_row(metrics: dict, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = metrics[key]
        print(f"  {key:<20} {value:>12.4f}" if isinstance(value, float) else f"  {key:<20} {value!s:>12}")


if __name__ == "__main__":
    main()
