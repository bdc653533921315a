#!/usr/bin/env python
"""How fast the app starts and answers, measured end to end.

    python scripts/bench/bench_app.py [--out docs/bench-app.md]
    python scripts/bench/bench_app.py --cpu-share 0.67 --out docs/bench-app-slow.md   # first page, a host 3x slower

Launches `python app.py`, times until it serves its page, then times the first Music click (sent the
moment the page serves: it waits for whatever is left of the start-up warm-up of the audio renderer)
and gradio_client round trips that generate a 16-image grid (request, ONNX Runtime, PNG encoding,
download) for each image model; then the same grid while a Lab run trains and a viewer in another process
polls it every 0.4 s (the Lab's target: 500 ms or less).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from studio import REPO_ROOT
from studio.atomic import atomic_write_text
from studio.local_server import free_port, wait_for_http
from studio.registry import manifest

ROOT = REPO_ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=30, help="timed calls per image model (default: %(default)s)")
    parser.add_argument("--count", type=int, default=16, help="images per grid (default: %(default)s)")
    parser.add_argument("--out", default=None, help="also write the results to this Markdown file")
    parser.add_argument("--cpu-share", type=float, default=None,
                        help="only time the first page, with the app held to this share of one core's time (e.g. "
                             "0.67: a 2-core host 3x slower; a cgroup quota, needs root)")
    args = parser.parse_args()
    if args.cpu_share:
        first_page_under_quota(args.cpu_share, args.out)
        return

    from gradio_client import Client

    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=ROOT,
                            env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        startup = wait_for_http(url, proc, timeout=120)
        client = Client(url, verbose=False)
        music = [e["id"] for e in manifest.entries() if e["modality"] == "music"]
        clicks = []
        for _ in range(2):  # the first click, then one with everything warm
            t0 = time.perf_counter()
            client.predict(music[0], 0, 1.0, 4, 100, "", 2, api_name="/generate_music_left")
            clicks.append(time.perf_counter() - t0)
        lines = [f"- `python app.py` served its page **{startup:.1f} s** after launch.",
                 f"- The first Music click ({music[0]}, 4 bars, sent as soon as the page served) took "
                 f"**{clicks[0]:.2f} s**; the next one {clicks[1]:.2f} s.",
                 f"- {args.count}-image grid, gradio_client round trip, {args.calls} calls after 3 warm-ups:", "",
                 "| model | median ms | p90 ms | min ms |", "|---|---|---|---|"]
        for entry in manifest.entries():
            if entry["modality"] != "image":
                continue
            for _ in range(3):
                client.predict(entry["id"], 0, args.count, api_name="/generate_left")
            times = []
            for seed in range(args.calls):
                t0 = time.perf_counter()
                client.predict(entry["id"], seed, args.count, api_name="/generate_left")
                times.append(1000 * (time.perf_counter() - t0))
            times.sort()
            lines.append(f"| {entry['id']} | {statistics.median(times):.0f} | "
                         f"{times[int(0.9 * (len(times) - 1))]:.0f} | {times[0]:.0f} |")
        compare_times = []
        for seed in range(5):
            t0 = time.perf_counter()
            client.predict(seed, args.count, api_name="/generate_all")
            compare_times.append(time.perf_counter() - t0)
        n_models = len([e for e in manifest.entries() if e["modality"] == "image"])
        lines += ["", f"- Compare tab, **Generate all** ({n_models} models x {args.count} images, one seed): "
                      f"median **{statistics.median(compare_times):.2f} s** over 5 seeds "
                      f"(max {max(compare_times):.2f} s)."]
        lines += ["", *under_lab_run(client, args.count)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = "\n".join(lines)
    print(text)
    if args.out:
        atomic_write_text(args.out, f"# `python scripts/bench/bench_app.py` ({os.cpu_count()} CPU cores)\n\n{text}\n")


def first_page_under_quota(share: float, out: str | None, runs: int = 3) -> None:
    """Seconds from launch to the first page with the app (and what it starts) held to ``share`` of a core."""
    from studio.local_server import QuotaUnavailable, cpu_limited, release

    times = []
    for _ in range(runs):
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            group = cpu_limited(proc.pid, share)
        except QuotaUnavailable as exc:
            proc.kill()
            raise SystemExit(f"error: --cpu-share: {exc}") from None
        try:
            times.append(wait_for_http(f"http://127.0.0.1:{port}/", proc, timeout=300))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            release(group)
    text = (f"- With the app held to {share:g} of a core's time (a cgroup CPU quota): first page after "
            + ", ".join(f"{t:.1f}" for t in times) + f" s ({runs} launches).")
    print(text)
    if out:
        atomic_write_text(out, f"# `python scripts/bench/bench_app.py --cpu-share {share:g}` "
                               f"({os.cpu_count()} CPU cores)"
                               f"\n\n{text}\n")


VIEWER = """
import sys, time
from gradio_client import Client
client = Client(sys.argv[1], verbose=False, download_files=False)
while True:
    client.predict(sys.argv[2], api_name="/lab_poll")
    time.sleep(0.4)
"""


def under_lab_run(client, count: int, calls: int = 60) -> list[str]:  # noqa: ANN001 - a gradio_client Client
    """16-image grids from image-gan while a Lab run (the Rescued preset) trains and a viewer in another
    process (as in another browser) polls it every 0.4 s, as the Lab tab does."""
    from studio.lab.spec import preset_spec
    from studio.lab.tab import API_KNOB_ORDER, FIRST_LATER

    spec = preset_spec("Rescued")
    knobs = [spec[family][knob.key] for family, knob in API_KNOB_ORDER]
    run_id = client.predict("", spec["data"], spec["family"], 0, 90, *knobs[:FIRST_LATER], 20_000,
                            *knobs[FIRST_LATER:], api_name="/lab_train")[0]  # steps enough to train throughout
    deadline = time.monotonic() + 60
    while client.predict(run_id, api_name="/lab_poll")[6].get("step", 0) < 100 and time.monotonic() < deadline:
        time.sleep(0.5)
    viewer = subprocess.Popen([sys.executable, "-c", VIEWER, client.src, run_id])
    times = []
    try:
        time.sleep(2)  # the viewer connects and polls
        for seed in range(calls):
            t0 = time.perf_counter()
            client.predict("image-gan", seed, count, api_name="/generate_left")
            times.append(1000 * (time.perf_counter() - t0))
        state = client.predict(run_id, api_name="/lab_poll")[6]
        polling = viewer.poll() is None
    finally:
        viewer.kill()
        viewer.wait(timeout=10)
        client.predict(run_id, api_name="/lab_stop")
    if not polling or state["state"] != "running":
        raise SystemExit(f"The Lab run or its viewer ended early (run: {state['state']}); the numbers would not "
                         "measure a grid under a running Lab.")
    times.sort()
    return [f"- While a Lab run trained (Rescued preset, step {state['step']:,} by the end) and a viewer in another "
            f"process polled it every 0.4 s: image-gan {count}-image grid, {calls} calls: median "
            f"**{statistics.median(times):.0f} ms**, p90 {times[int(0.9 * (len(times) - 1))]:.0f} ms, "
            f"max {times[-1]:.0f} ms (target: 500 ms)."]


if __name__ == "__main__":
    main()
