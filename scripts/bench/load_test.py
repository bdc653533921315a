"""Load the app as a class would: many clients at once through gradio_client, and count what fails.

    python scripts/bench/load_test.py                      # launches the app, 50 clients x 20 requests, all three mixes
    python scripts/bench/load_test.py --clients 8 --requests 5 --mix identical
    python scripts/bench/load_test.py --url http://127.0.0.1:7860/ --out docs/load-test.md

Mixes: ``identical`` (everyone asks /generate_left for image-gan, seed 1, 16 images: the case where
concurrent responses are byte-identical), ``distinct`` (the same with a different seed per request) and
``tabs`` (every tab's main endpoints, in turn, with varied seeds). Prints one markdown row per mix:
requests, errors, p50 and p95 latency, throughput; ``--out`` also writes it to a file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from studio import REPO_ROOT
from studio.local_server import launch_app

ROOT = REPO_ROOT
MIXES = ("identical", "distinct", "tabs")

#: (api_name, arguments for request number i) of the ``tabs`` mix: every tab's main endpoints.
TAB_CALLS: tuple[tuple[str, Callable[[int], tuple]], ...] = (
    ("/generate_left", lambda i: ("image-gan", i % 50, 16)),
    ("/generate_right", lambda i: ("image-vae", i % 50, 16)),
    ("/interpolate", lambda i: ("image-flow", i % 20, i % 20 + 1, 8)),
    ("/describe_left", lambda i: ("image-transformer",)),
    ("/generate_text_left", lambda i: ("text-transformer", "ROMEO.\n", i % 50, 0.8, 120, 8, 0, 0.95)),
    ("/generate_text_right", lambda i: ("text-vae", "", i % 50, 0.8, 120, 8, 0, 0.95)),
    ("/generate_music_left", lambda i: ("music-gan", i % 50, 1.0, 2, 100, "", 2)),
    ("/generate_all_text", lambda i: (i % 50, 4)),
)


def call_for(mix: str, i: int) -> tuple[str, tuple]:
    """(api_name, args) of request number ``i`` in ``mix``."""
    if mix == "identical":
        return "/generate_left", ("image-gan", 1, 16)
    if mix == "distinct":
        return "/generate_left", ("image-gan", 1000 + i, 16)
    api, args = TAB_CALLS[i % len(TAB_CALLS)]
    return api, args(i)


@dataclass
class Result:
    mix: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")

    def row(self, clients: int, per_client: int) -> str:
        return (f"| {self.mix} | {clients} × {per_client} | {len(self.errors)} of {self.requests} | "
                f"{self.percentile(0.5):.2f} s | {self.percentile(0.95):.2f} s | "
                f"{self.requests / self.seconds:.1f} |")


def run_mix(url: str, mix: str, clients: int, per_client: int) -> Result:
    """``clients`` threads, each with its own gradio_client.Client, send ``per_client`` requests one after
    another; every exception (an error answer, a dropped connection) counts as an error."""
    from gradio_client import Client

    result = Result(mix)

    def one_client(c: int) -> None:
        client = Client(url, verbose=False, download_files=True)  # download: a truncated file is an error too
        for r in range(per_client):
            api, args = call_for(mix, c * per_client + r)
            start = time.perf_counter()
            try:
                client.predict(*args, api_name=api)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                result.errors.append(f"{api}: {type(exc).__name__}: {str(exc)[:200]}")
            else:
                result.latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one_client, range(clients)))
    result.seconds = time.perf_counter() - start
    return result


HEADER = ("| mix | clients × requests | errors | p50 | p95 | requests/s |\n"
          "|---|---|---|---|---|---|")


def main() -> int:
    parser = argparse.ArgumentParser(description="Load-test the app through gradio_client",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--url", help="a running app (default: launch one from this checkout)")
    parser.add_argument("--port", type=int, default=7951, help="port for the launched app")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--mix", choices=(*MIXES, "all"), default="all", help="which requests to send")
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    args = parser.parse_args()

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    proc, url = (None, args.url) if args.url else launch_app(args.port)
    try:
        rows, failed = [HEADER], 0
        print(HEADER, flush=True)
        for mix in MIXES if args.mix == "all" else (args.mix,):
            result = run_mix(url, mix, args.clients, args.requests)
            rows.append(result.row(args.clients, args.requests))
            print(rows[-1], flush=True)
            for error in result.errors[:5]:
                print(f"   {error}", file=sys.stderr)
            failed += len(result.errors)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    if args.out:
        args.out.write_text("\n".join(rows) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
