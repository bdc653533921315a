#!/usr/bin/env python
"""The app's resident memory (RSS), from a fresh start through every tab and each modality's re-score.

    python scripts/bench/measure_memory.py [--out docs/memory.md] [--image-requests 300]

Launches `python app.py` on a free port and drives it through gradio_client as a visitor would: the
Images, Text and Music tabs (one side's generation and "Generate all"), the Evaluate tab (an item and a
pair per modality), each modality's "Re-score now", then a run of image requests to see whether memory
stays where it settled. After each step it reads the app process's VmRSS from /proc. The target for a
shared Space is 1 GB after every tab and a re-score.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from studio import REPO_ROOT
from studio.atomic import atomic_write_text
from studio.local_server import free_port
from studio.registry import manifest

ROOT = REPO_ROOT

TARGET_MB = 1024


def rss_mb(pid: int) -> float:
    """The process's resident set size in MiB, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def first_of(modality: str) -> str:
    ids = [e["id"] for e in manifest.entries() if e["modality"] == modality]
    if not ids:
        raise SystemExit(f"no {modality} model is registered in trained/manifest.json")
    return ids[0]


def steps(client, image_requests: int) -> list[tuple[str, Callable[[], object]]]:  # noqa: ANN001 - a Client
    image, text, music = first_of("image"), first_of("text"), first_of("music")
    return [
        ("Images tab: one 16-image grid", lambda: client.predict(image, 0, 16, api_name="/generate_left")),
        ("Compare: Generate all images", lambda: client.predict(0, 16, api_name="/generate_all")),
        ("Text tab: one continuation", lambda: client.predict(text, api_name="/generate_text_left")),
        ("Compare: Generate all text", lambda: client.predict(0, 4, api_name="/generate_all_text")),
        ("Music tab: 4 bars", lambda: client.predict(music, 0, 1.0, 4, 100, "", 2, api_name="/generate_music_left")),
        ("Compare: Generate all music", lambda: client.predict(0, 4, 100, api_name="/generate_all_music")),
        ("Evaluate tab: an item and a pair per modality", lambda: [
            client.predict(api_name=f"/eval_{kind}_{name}") for name in ("image", "text", "music")
            for kind in ("item", "pair")]),
        ("Re-score images", lambda: client.predict(1, api_name="/rescore")),
        ("Re-score text", lambda: client.predict(1, api_name="/rescore_text")),
        ("Re-score music", lambda: client.predict(1, api_name="/rescore_music")),
        (f"{image_requests} more image grids", lambda: [
            client.predict(image, seed, 16, api_name="/generate_left") for seed in range(image_requests)]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-requests", type=int, default=300, help="image grids at the end (%(default)s)")
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    args = parser.parse_args()

    from gradio_client import Client

    from studio.local_server import launch_app

    proc, url = launch_app(free_port())
    rows = []
    try:
        time.sleep(5)  # the start-up warm-up (audio renderer) settles
        rows.append(("start (page served, warm-up done)", rss_mb(proc.pid), 0.0))
        client = Client(url, verbose=False, download_files=False)
        for name, call in steps(client, args.image_requests):
            t0 = time.perf_counter()
            call()
            rows.append((name, rss_mb(proc.pid), time.perf_counter() - t0))
            print(f"{name}: {rows[-1][1]:.0f} MiB", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    peak = max(mb for _, mb, _ in rows)
    lines = ["| after | RSS MiB | step took s |", "|---|---|---|"]
    lines += [f"| {name} | {mb:.0f} | {secs:.1f} |" for name, mb, secs in rows]
    verdict = "met" if peak <= TARGET_MB else "NOT met"
    lines += ["", f"Highest: **{peak:.0f} MiB** (target {TARGET_MB} MiB after every tab and a re-score: {verdict})."]
    text = "\n".join(lines)
    print(text)
    if args.out:
        atomic_write_text(args.out, f"# `python scripts/bench/measure_memory.py` ({os.cpu_count()} CPU cores)\n\n"
                                    f"The app's resident memory, read from /proc after each step.\n\n{text}\n")
    if peak > TARGET_MB:
        sys.exit(1)


if __name__ == "__main__":
    main()
