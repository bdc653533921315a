#!/usr/bin/env python
"""Choose an image model's default sampling temperature (and top-k) on validation data, never the test set.

    python scripts/choose_sampling.py image-transformer image-flow           # print the sweep
    python scripts/choose_sampling.py image-transformer image-flow --write   # also record the choice

Each setting draws 2,000 samples (seed 1, not the protocol's) and is scored by Fréchet distance against
10,000 Fashion-MNIST *training* images (50,000-59,999: the data set has no validation split, and the test
set, which every recorded number is scored against, plays no part). The setting with the lowest FD wins.
With ``--write`` the model is then scored by the protocol (10,000 samples, seed 2024, against the test set)
at that setting and at temperature 1, and metrics.json records both: the table's numbers at the default,
``at_temperature_1`` beside them, ``sampling`` (what the app and ``scripts/evaluate.py`` draw with) and
``sampling_choice`` (the sweep), the card is rewritten and its preview (64 samples) is redrawn at the default,
so the pictures beside the numbers are drawn the way the numbers were. A flow scales its noise by the temperature; the
Transformer divides its logits by it and draws from the top-k likeliest codes (0: all).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from studio.registry import manifest

SWEEP_SAMPLES, SWEEP_SEED = 2000, 1
#: the settings tried, per family: (temperature, top_k)
GRIDS = {
    "flow": [(t, 0) for t in (0.6, 0.7, 0.8, 0.9, 1.0, 1.1)],
    "transformer": [(t, k) for t in (0.9, 1.0, 1.1, 1.2) for k in (0, 32, 16)],
}
CHOSEN_BY = (f"the lowest Fréchet distance of {SWEEP_SAMPLES:,} samples (seed {SWEEP_SEED}) against 10,000 "
             "Fashion-MNIST training images (50,000-59,999); the test set plays no part")
#: what at_temperature_1 keeps of a full evaluation
KEPT_AT_1 = ("fd", "precision", "recall", "density", "coverage", "classes_covered", "kl_to_uniform")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", nargs="+", help="image model ids with a temperature: image-flow, image-transformer")
    parser.add_argument("--trained-dir", default=str(manifest.TRAINED_DIR),
                        help="the folder holding manifest.json (default: %(default)s)")
    parser.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: the Debian package's)")
    parser.add_argument("--write", action="store_true",
                        help="score the choice by the protocol and record it in metrics.json")
    return parser.parse_args()


def settings(temperature: float, top_k: int) -> dict:
    """Keyword arguments for the protocol's draw: top-k only where it is used."""
    return {"temperature": temperature, **({"top_k": top_k} if top_k else {})}


def main() -> None:
    args = parse_args()
    from tqdm.auto import tqdm

    from studio.atomic import atomic_write_json, atomic_write_text
    from studio.evaluation.protocol import evaluate
    from studio.image import MODALITY
    from studio.image.codec import save_image_grid
    from studio.image.protocol import PROTOCOL, validation_reference
    from studio.image.recipes import PREVIEW_SEED
    from studio.onnx.runtime import load_generator
    from studio.registry.record import DataMissing
    from studio.registry.stored_samples import record_head
    from studio.training.cards import registered_card

    root = Path(args.trained_dir)
    try:
        entries = [manifest.get(model_id, root) for model_id in args.ids]
    except manifest.ManifestError as exc:
        sys.exit(f"error: {exc}")
    for entry in entries:
        if entry["modality"] != "image" or entry["family"] not in GRIDS:
            sys.exit(f"error: {entry['id']} has no sampling temperature to choose; "
                     f"try {', '.join('image-' + f for f in GRIDS)}")
    try:
        test_reference = PROTOCOL.open_reference("cpu")
        reference = validation_reference(test_reference, args.data_dir)
    except (FileNotFoundError, DataMissing) as exc:
        sys.exit(f"error: {exc}")

    for entry in entries:
        generator = load_generator(manifest.path_of(entry, "onnx", root), device="cpu")
        sweep = []
        for temperature, top_k in tqdm(GRIDS[entry["family"]], desc=entry["id"]):
            m = evaluate(generator, PROTOCOL, reference, SWEEP_SAMPLES, SWEEP_SEED, settings(temperature, top_k))
            sweep.append({"temperature": temperature, "top_k": top_k, "fd": m["fd"],
                          "kl_to_uniform": m["kl_to_uniform"], "precision": m["precision"], "recall": m["recall"]})
        best = min(sweep, key=lambda row: row["fd"])
        print(f"\n{entry['id']}: validation FD by setting ({SWEEP_SAMPLES:,} samples, seed {SWEEP_SEED})")
        print("| temperature | top-k | FD (validation) | class KL | precision | recall |\n|---|---|---|---|---|---|")
        for row in sweep:
            mark = " **chosen**" if row is best else ""
            print(f"| {row['temperature']:g} | {row['top_k'] or 'all'} | {row['fd']:.2f}{mark} | "
                  f"{row['kl_to_uniform']:.3f} | {row['precision']:.3f} | {row['recall']:.3f} |")
        if not args.write:
            continue
        chosen = settings(best["temperature"], best["top_k"])
        default = evaluate(generator, PROTOCOL, test_reference, sampling=chosen)
        plain = evaluate(generator, PROTOCOL, test_reference, steering=False)  # at_temperature_1 keeps no steering
        path = manifest.path_of(entry, "metrics", root)
        record = json.loads(path.read_text()) if path.exists() else {}
        record.update(default)
        record["at_temperature_1"] = {key: plain[key] for key in KEPT_AT_1}
        record["sampling_choice"] = {"by": CHOSEN_BY, "sweep": sweep}
        atomic_write_json(path, record)
        atomic_write_text(manifest.path_of(entry, "card", root), registered_card(MODALITY, entry, root, record))
        save_image_grid(PROTOCOL.draw(generator, 64, PREVIEW_SEED, **chosen), manifest.path_of(entry, "preview", root))
        manifest.upsert({**entry, "samples_head": record_head(entry, root, PROTOCOL)}, root)  # drawn as now recorded
        print(f"recorded in {path}: FD {default['fd']:.2f} and class KL {default['kl_to_uniform']:.3f} at "
              f"{chosen}; FD {plain['fd']:.2f} and class KL {plain['kl_to_uniform']:.3f} at temperature 1")


if __name__ == "__main__":
    main()
