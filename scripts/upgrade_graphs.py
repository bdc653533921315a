#!/usr/bin/env python
"""Apply this version's export-time graph rewrites to the generators already in trained/, without retraining.

    python scripts/upgrade_graphs.py            # rewrite what needs it, update the manifest's sha256
    python scripts/upgrade_graphs.py --check    # change nothing; exit 1 if a file would change

Today's rewrite: 1-D convolutions as 2-D ones of unit height (studio/onnx/conv2d_pass.py), which the export
applies to every new file. A rewritten file lands only if it draws exactly the same samples as the
original for 256 seeded noise vectors (so the recorded metrics still hold: `scripts/evaluate.py`
re-checks them), and it is written atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.registry import manifest

CHECK_SAMPLES = 256


def upgrade(entry: dict, root: Path, check_only: bool) -> str | None:
    """Rewrite one entry's generator; returns what changed, or None."""
    import numpy as np
    import onnx

    from studio.atomic import atomic_write
    from studio.onnx.contract import SAMPLE_OUTPUT, Z_INPUT
    from studio.onnx.conv2d_pass import conv1d_as_conv2d
    from studio.onnx.options import cpu_session

    path = manifest.path_of(entry, "onnx", root)
    model = onnx.load(str(path))
    rewritten = conv1d_as_conv2d(model)
    if not rewritten:
        return None
    if check_only:
        return f"{entry['id']}: {rewritten} 1-D convolutions would become 2-D"
    def write_checked(tmp: str) -> None:  # moved over the file only if it draws the same samples
        onnx.save(model, tmp)
        before, after = cpu_session(path), cpu_session(tmp)
        z_dim = int(before.get_inputs()[0].shape[1])
        z = np.random.default_rng(0).standard_normal((CHECK_SAMPLES, z_dim), dtype=np.float32)
        old, new = (s.run([SAMPLE_OUTPUT], {Z_INPUT: z})[0] for s in (before, after))
        if not np.array_equal(old, new):
            raise SystemExit(f"error: {entry['id']}: the rewritten graph draws different samples "
                             f"({float((old != new).mean()):.2%} of values differ); {path} is unchanged.")

    atomic_write(path, write_checked)
    manifest.upsert({**entry, "sha256": manifest.sha256_of(path)}, root)
    return f"{entry['id']}: {rewritten} 1-D convolutions now 2-D; same {CHECK_SAMPLES} samples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trained-dir", default=str(manifest.TRAINED_DIR), help="default: %(default)s")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    args = parser.parse_args()
    root = Path(args.trained_dir)
    changes = [c for e in manifest.entries(root) if e.get("kind", "one-shot") == "one-shot"
               for c in [upgrade(e, root, args.check)] if c]
    print("\n".join(changes) if changes else "every generator is up to date")
    if args.check and changes:
        sys.exit(1)


if __name__ == "__main__":
    main()
