#!/usr/bin/env python
"""How fast the image models steer, through the Images tab's own handlers (ONNX Runtime, grid, PNG):

    python scripts/bench/steering_latency.py [--out docs/steering-latency.md]

For every image model that takes a class: a 16-image grid of one class (target 300 ms on 2 cores). For every
model that completes pictures: 8 fills of one held-out picture with its centre hidden (target 1 s). Each call
uses a new seed, so no finished picture is reused; the median and slowest of ``--calls`` calls are reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from studio.atomic import atomic_write_text
from studio.registry import manifest

GRID_TARGET_MS, COMPLETION_TARGET_MS = 300, 1000


def timed(call, calls: int) -> list[float]:  # noqa: ANN001 - call(i) runs the i-th request
    call(10_000)  # the first call opens the session: not what a visitor waits for on later clicks
    times = []
    for i in range(calls):
        t0 = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20, help="timed calls per model and task (default: %(default)s)")
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    args = parser.parse_args()
    from studio.image import tab
    from studio.registry.serving import ModelRegistry

    registry = ModelRegistry(manifest.TRAINED_DIR, device="cpu")
    rows = []
    for model_id in tab.steerable(registry, "class"):
        times = timed(lambda i, m=model_id: tab.generate(registry, m, 50_000 + i, 16, "Sneaker"), args.calls)
        rows.append((model_id, "16 images of one class", times, GRID_TARGET_MS))
    for model_id in tab.steerable(registry, "region"):
        times = timed(lambda i, m=model_id: tab.complete(registry, i % 300, None, "centre square", None, [m], 8,
                                                         60_000 + 8 * i), args.calls)
        rows.append((model_id, "8 fills of one picture", times, COMPLETION_TARGET_MS))
    lines = [f"Steering latency through the Images tab's handlers, {args.calls} calls each, on {os.cpu_count()} "
             "CPU cores (`python scripts/bench/steering_latency.py`).", "",
             "| model | task | median ms | slowest ms | target ms | met |", "|---|---|---|---|---|---|"]
    for model_id, task, times, target in rows:
        median = statistics.median(times)
        lines.append(f"| {model_id} | {task} | {median:.0f} | {max(times):.0f} | {target} | "
                     f"{'yes' if median <= target else 'no'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()
