#!/usr/bin/env python
"""Print the README's model table from trained/manifest.json and each entry's metrics.json.

    python scripts/model_table.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio import manifest  # noqa: E402


def main() -> None:
    print("| model | FD ↓ | precision | recall | density | coverage | classes (of 10) | class KL ↓ "
          "| likelihood | params | ONNX | train min | steps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for entry in manifest.entries():
        m = json.loads(manifest.path_of(entry, "metrics").read_text())
        if "nll_bpd" in m:
            bpd = f"{m['nll_bpd']:.3f} (exact, dequantized)"
        elif "neg_elbo_bpd" in m:
            bpd = f"≤ {m['neg_elbo_bpd']:.3f} (ELBO bound)"
        elif "nll_bits_per_token" in m:
            bpd = f"{m['nll_bits_per_token']:.3f} bits/token (VQ codes)"
        else:
            bpd = "—"
        print(f"| {entry['id']} | {m['fd']:.2f} | {m['precision']:.3f} | {m['recall']:.3f} | {m['density']:.3f} "
              f"| {m['coverage']:.3f} | {m['classes_covered']} | {m['kl_to_uniform']:.4f} | {bpd} "
              f"| {m['params']:,} | {m['onnx_bytes'] / 1024:.0f} KiB | {m['train_minutes']:.1f} | {entry['steps']} |")
    ref = json.loads((manifest.TRAINED_DIR / "_reference" / "metrics.json").read_text())
    print(f"\nReference classifier test accuracy: {ref['test_accuracy']:.4f}.")


if __name__ == "__main__":
    main()
