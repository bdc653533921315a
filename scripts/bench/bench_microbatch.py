#!/usr/bin/env python
"""Does batching concurrent one-shot requests help? The app at 50 clients, micro-batching off then on.

    python scripts/bench/bench_microbatch.py [--clients 50] [--requests 20] [--rounds 1] [--out docs/microbatch.md]

Each setting launches the app from this checkout (STUDIO_MICROBATCH=0, then =1; see studio/microbatch.py)
and sends the load test's ``distinct`` mix: every client asks /generate_left for 16 image-gan images with
its own seed, so each request reaches the generator (identical requests are answered from files). With
more than one round the settings alternate and each row is kept.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from studio import REPO_ROOT

ROOT = REPO_ROOT



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default: 50)")
    parser.add_argument("--requests", type=int, default=20, help="requests per client (default: 20)")
    parser.add_argument("--rounds", type=int, default=1, help="off/on pairs (default: 1)")
    parser.add_argument("--port", type=int, default=7952, help="port for the launched app (default: 7952)")
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    from load_test import HEADER, run_mix

    from studio.atomic import atomic_write_text
    from studio.local_server import launch_app
    from studio.microbatch import ENV
    from studio.onnx.graph_flops import cpu_model

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    rows, rates, p95s, failed = [], {"off": [], "on": []}, {"off": [], "on": []}, 0
    print(HEADER.replace("| mix |", "| micro-batching |"), flush=True)
    for _ in range(args.rounds):
        for setting in ("off", "on"):
            proc, url = launch_app(args.port, {ENV: "1" if setting == "on" else "0"})
            try:
                result = run_mix(url, "distinct", args.clients, args.requests)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            result.mix = setting
            rows.append(result.row(args.clients, args.requests))
            rates[setting].append(result.requests / result.seconds)
            p95s[setting].append(result.percentile(0.95))
            failed += len(result.errors)
            print(rows[-1], flush=True)
    best = {k: max(v) for k, v in rates.items()}
    verdict = (f"Throughput on/off: {best['on'] / best['off']:.2f}x; p95 on/off: "
               f"{min(p95s['on']) / min(p95s['off']):.2f}x.")
    print(verdict)
    if args.out:
        command = "python scripts/bench/bench_microbatch.py" + (f" --rounds {args.rounds}" if args.rounds > 1 else "")
        atomic_write_text(args.out, f"# `{command}`\n\n{cpu_model()}, {os.cpu_count()} cores; "
                          f"clients and server on one machine. The `distinct` mix: /generate_left, 16 image-gan "
                          f"images, a seed per request.\n\n"
                          + HEADER.replace("| mix |", "| micro-batching |") + "\n" + "\n".join(rows)
                          + f"\n\n{verdict}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
