#!/usr/bin/env python
"""Do the committed image models draw their stored samples on a CPU without AVX-512?

    python scripts/bench/check_other_cpu.py          # this CPU, then valgrind's (about 12 min): docs/other-cpu.md
    python scripts/bench/check_other_cpu.py --here   # this CPU only

ONNX Runtime and numpy choose their kernels by the instruction sets the CPU reports. valgrind's virtual CPU
reports AVX2 and FMA but no AVX-512 (valgrind cannot run AVX-512 code), so under `valgrind --tool=none` both
libraries take the code paths of an AVX2-only host, as the host of a free Hugging Face Space or an older
laptop would. For each image model the script compares the drawn head with the stored one bitwise and by
the suite's check (studio.evaluation.heads: per-pixel tolerance, a few redrawn samples allowed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from studio import REPO_ROOT
from studio.atomic import atomic_write_text

REPO = REPO_ROOT


def cpu_flags() -> str:
    """The AVX-512 and AVX2 flags this process's CPU reports (valgrind rewrites what CPUID answers)."""
    from numpy._core._multiarray_umath import __cpu_features__ as found

    return ", ".join(f"{name} {'yes' if found.get(name) else 'no'}" for name in ("AVX2", "FMA3", "AVX512F"))


def here() -> list[dict]:
    from studio.evaluation.heads import compare_heads, draw_head, read_head
    from studio.image.protocol import PROTOCOL
    from studio.onnx.runtime import load_generator
    from studio.registry import manifest

    rows = []
    for entry in manifest.entries():
        if entry["modality"] != "image":
            continue
        t0 = time.time()
        head_path = manifest.path_of(entry, "samples_head")
        stored, seed, sampling = read_head(head_path)
        generator = load_generator(manifest.path_of(entry, "onnx"), device="cpu")
        drawn = draw_head(generator, PROTOCOL, seed, sampling, n=len(stored))
        result = compare_heads(drawn, stored, PROTOCOL.head_tolerance)
        rows.append({"model": entry["id"], "bitwise_equal": bool((drawn == stored).all()),
                     "pixels_differing": int((drawn != stored).sum()), "check_passes": result.ok,
                     "check": result.describe(), "seconds": round(time.time() - t0, 1)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--here", action="store_true", help="only this CPU; print JSON")
    parser.add_argument("--out", default=str(REPO / "docs" / "other-cpu.md"))
    args = parser.parse_args()
    if args.here:
        print(json.dumps({"cpu": cpu_flags(), "rows": here()}))
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("error: valgrind is not installed: `apt-get install valgrind`")
    runs = {"this CPU": [sys.executable, __file__, "--here"],
            "valgrind's CPU": [valgrind, "--tool=none", "-q", sys.executable, __file__, "--here"]}
    sections = []
    for name, command in runs.items():
        t0 = time.time()
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        if done.returncode != 0:
            sys.exit(f"error: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        lines = [f"## {name} ({result['cpu']}; {time.time() - t0:.0f} s)", "",
                 "| model | bitwise equal to the stored head | pixels differing | suite's check |", "|---|---|---|---|"]
        for r in result["rows"]:
            lines.append(f"| {r['model']} | {'yes' if r['bitwise_equal'] else 'no'} | {r['pixels_differing']} | "
                         f"{'passes' if r['check_passes'] else 'FAILS'}: {r['check']} |")
        sections.append("\n".join(lines))
        print(sections[-1], flush=True)
    text = ("# The stored samples on a CPU without AVX-512\n\n`python scripts/bench/check_other_cpu.py`: each image "
            "model's "
            "first 100 samples (seed and sampling as recorded) against `trained/<id>/samples_head.npz`, natively and "
            "under `valgrind --tool=none`, whose virtual CPU has AVX2 and FMA but no AVX-512, so ONNX Runtime and "
            "numpy take an AVX2-only host's kernels.\n\n" + "\n\n".join(sections) + "\n")
    atomic_write_text(Path(args.out), text)


if __name__ == "__main__":
    main()
