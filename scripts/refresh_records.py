#!/usr/bin/env python
"""Bring a trained/ folder's records up to this version of the studio, without retraining anything:
metrics.json keys migrated to each modality's schema, card.md rewritten from the record and the
recipe's current description, and a missing samples_head.npz (the first samples of the recorded draw,
which the tests compare with what the file draws) drawn. The ONNX files are not touched (their sha256
stays as recorded).

    python scripts/refresh_records.py                 # trained/
    python scripts/refresh_records.py --check         # exit 1 if anything would change
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from studio.modalities import BY_NAME
from studio.registry import manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trained-dir", default=str(manifest.TRAINED_DIR),
                        help="the folder holding manifest.json (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a record is out of date")
    args = parser.parse_args()
    from studio.atomic import atomic_write_json, atomic_write_text
    from studio.registry.stored_samples import record_head
    from studio.training.cards import registered_card

    root = Path(args.trained_dir)
    stale = []
    for entry in manifest.entries(root):
        metrics_path, card_path = manifest.path_of(entry, "metrics", root), manifest.path_of(entry, "card", root)
        old = json.loads(metrics_path.read_text())
        modality = BY_NAME[entry["modality"]]
        if "samples_head" not in entry:
            stale.append(f"{entry['id']}/samples_head.npz")
            if not args.check:
                manifest.upsert({**entry, "samples_head": record_head(entry, root, modality.protocol())}, root)
        metrics = modality.schema.migrate(old)
        card = registered_card(modality, entry, root, metrics)
        for path, new, changed in ((metrics_path, metrics, metrics != old),
                                   (card_path, card, card != card_path.read_text())):
            if changed:
                stale.append(str(path.relative_to(root)))
                if not args.check:
                    (atomic_write_json if isinstance(new, dict) else atomic_write_text)(path, new)
    verb = "out of date" if args.check else "rewritten"
    print(f"{len(stale)} record(s) {verb}" + (": " + ", ".join(stale) if stale else ""))
    if args.check and stale:
        sys.exit(1)


if __name__ == "__main__":
    main()
