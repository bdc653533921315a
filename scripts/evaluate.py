#!/usr/bin/env python
"""Recompute a registered generator's metrics from its ONNX file alone, and compare with the record.

    python scripts/evaluate.py image-gan text-vae   # some entries
    python scripts/evaluate.py image-gan@int8       # a registered variant (scripts/quantize.py --register)
    python scripts/evaluate.py --all                # every entry in the manifest, and their variants
    python scripts/evaluate.py image-gan --write    # also update metrics.json (the manifest's sha256 is unchanged)
    python scripts/evaluate.py --real-baseline      # score real data: training images, held-out lines and chorales

Uses the protocol's fixed sample count and seed, so the numbers match those recorded at training time.
The numbers compared are each modality's schema's ``compared`` keys.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from studio.modalities import ALL, BY_NAME
from studio.registry import manifest


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", nargs="*", help="manifest ids, e.g. image-gan")
    parser.add_argument("--all", action="store_true", help="every generator in the manifest, and its variants")
    parser.add_argument("--trained-dir", default=str(manifest.TRAINED_DIR),
                        help="the folder holding manifest.json (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=None, help="sample count (default: the recorded one)")
    parser.add_argument("--seed", type=int, default=None, help="noise seed (default: the recorded one)")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"),
                        help="where ONNX Runtime runs (default: %(default)s)")
    parser.add_argument("--write", action="store_true", help="store the recomputed numbers in metrics.json")
    parser.add_argument("--tolerance", type=float, default=1e-3,
                        help="relative difference counted as a match (default: %(default)s)")
    parser.add_argument("--real-baseline", action="store_true",
                        help="score real data as if it were samples: Fashion-MNIST training images, held-out "
                             "Shakespeare lines and held-out Bach chorales (needs the data sets)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from studio.atomic import atomic_write_json
    from studio.evaluation.heads import check_head
    from studio.evaluation.protocol import evaluate, flat_numbers
    from studio.evaluation.schema import sampling_label
    from studio.onnx.runtime import load_generator

    if args.real_baseline:
        real_baseline(args.device)
        return
    root = Path(args.trained_dir)
    try:
        entries = manifest.entries(root)
        chosen = [v for e in entries if e["modality"] in BY_NAME for v in (e, *manifest.variants(e))] \
            if args.all else []
        chosen += [manifest.get(model_id, root) for model_id in args.ids]
    except manifest.ManifestError as exc:
        sys.exit(f"error: {exc}")
    if not chosen:
        sys.exit("error: name a model id (see trained/manifest.json) or pass --all")

    references: dict = {}
    mismatches = 0
    for entry in chosen:
        if entry["modality"] not in BY_NAME:
            sys.exit(f"error: no evaluation protocol for {entry['modality']} models")
        modality = BY_NAME[entry["modality"]]
        protocol, schema = modality.protocol(), modality.schema
        if modality.name not in references:
            try:
                references[modality.name] = protocol.open_reference(args.device)
            except FileNotFoundError as exc:
                sys.exit(f"error: {exc}")
        metrics_path = manifest.path_of(entry, "metrics", root)
        recorded = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
        n = args.samples or recorded.get("n_samples", protocol.n_samples)
        seed = args.seed if args.seed is not None else recorded.get("seed", protocol.seed)
        sampling = recorded.get("sampling")  # the model's default sampling (scripts/choose_sampling.py)
        generator = load_generator(manifest.path_of(entry, "onnx", root), device=args.device)
        fresh = evaluate(generator, protocol, references[modality.name], n, seed, sampling)
        at = f", {sampling_label(sampling)}" if sampling else ""
        print(f"\n{entry['id']}  ({n} {schema.sample_noun}, seed {seed}{at}, {fresh['provider']})")
        print(f"  {'metric':<22} {'recorded':>12} {'recomputed':>12}")
        for key in schema.compared:
            old, new = recorded.get(key), fresh[key]
            same = old is not None and abs(float(new) - float(old)) <= args.tolerance * max(1.0, abs(float(old)))
            mismatches += 0 if same or old is None else 1
            old_s = "-" if old is None else schema.format(key, old)
            flag = "" if same or old is None else "   <- differs"
            print(f"  {key:<22} {old_s:>12} {schema.format(key, new):>12}{flag}")
        recorded_steering = flat_numbers(recorded.get("steering", {}))
        for key, new in flat_numbers(fresh.get("steering", {})).items():
            old = recorded_steering.get(key)
            allowed = (protocol.steering_tolerance or {}).get(key.rsplit(".", 1)[-1])
            same = old is not None and abs(new - old) <= (allowed if allowed is not None else
                                                          args.tolerance * max(1.0, abs(old)))
            mismatches += 0 if same or old is None else 1
            flag = "" if same or old is None else "   <- differs"
            print(f"  {key:<40} {'-' if old is None else f'{old:.4g}':>10} {new:>10.4g}{flag}")
        if "samples_head" in entry and "variant" not in entry and fresh["provider"] == "CPUExecutionProvider":
            head = check_head(generator, protocol, manifest.path_of(entry, "samples_head", root))
            mismatches += 0 if head.ok else 1
            print(f"  stored head: {head.describe()}" + ("" if head.ok else "   <- differs"))
        if args.write:
            recorded.update(fresh)
            atomic_write_json(metrics_path, recorded)
    if mismatches and not args.write:
        print(f"\n{mismatches} number(s) differ from the record (tolerance {args.tolerance}).")
        sys.exit(1)


def real_baseline(device: str) -> None:
    """What real data scores under each modality's protocol: the ceiling for every generator."""
    for modality in ALL:
        protocol, schema = modality.protocol(), modality.schema
        try:
            metrics = protocol.real_baseline(protocol.open_reference(device))
        except FileNotFoundError as exc:  # a missing data set or reference names its fix
            sys.exit(f"error: {exc}")
        print(f"\n{modality.name}: {protocol.real_baseline_what}:")
        for key in (*schema.compared, *(k for k in metrics if k.endswith("_real")), "collapsed"):
            if key in metrics:
                label = schema.format(key.removesuffix("_real"), metrics[key])
                print(f"  {key:<22} {label:>12}")


if __name__ == "__main__":
    main()
