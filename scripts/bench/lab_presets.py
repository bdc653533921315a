#!/usr/bin/env python
"""Does each Lab preset show its effect reliably? Runs every preset for its steps on 5 seeds, with a 60 s
time cap, through the Lab's own worker (one thread per run, two runs at a time on a 2-core machine, as the
app would on a quiet server) and writes docs/lab-presets.md and .json.

    python scripts/bench/lab_presets.py                     # all presets, seeds 0-4 (about 5 min)
    python scripts/bench/lab_presets.py --cpu-share 0.33    # each worker held to a third of a core: a host 3x slower
    python scripts/bench/lab_presets.py --seeds 1 --seconds 20 --preset "Mode collapse"

--cpu-share puts each worker in a cgroup of its own with a CPU quota (studio/local_server.py), so it trains as
on a slower machine while the rest of this one is free; it needs root.

Expected: Mode collapse covers <= 3 of 8 modes; Rescued covers 8 of 8 with >= 80% high-quality samples;
Divergence shows at least one rollback and then recovers; Posterior collapse ends with <= 1 active unit
and its rescue with >= 4.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from studio import REPO_ROOT
from studio.atomic import atomic_write_json, atomic_write_text
from studio.lab.spec import PRESETS, preset_spec
from studio.lab.view import (
    read_frame,
    run_log,
)
from studio.lab.worker import SPEC, read_status
from studio.local_server import QuotaUnavailable, cpu_limited, release

REPO = REPO_ROOT


def run_one(name: str, seed: int, seconds: float, root: Path, cpu_share: float | None = None) -> dict:
    folder = root / f"{name.replace(' ', '-').lower()}-{seed}"
    folder.mkdir(parents=True)
    spec = preset_spec(name)
    spec.update(seed=seed, seconds=seconds)
    (folder / SPEC).write_text(json.dumps(spec))
    with open(folder / "worker.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "studio.lab.worker", str(folder)], cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            group = cpu_limited(proc.pid, cpu_share) if cpu_share else None
        except QuotaUnavailable as exc:
            proc.kill()
            raise SystemExit(f"error: --cpu-share: {exc}") from None
        try:
            proc.wait(timeout=seconds + 300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if group is not None:
                release(group)
    status, frame = read_status(folder) or {}, read_frame(folder) or {}
    log = run_log(folder)
    evals = [r["eval"] for r in log if "eval" in r]
    losses = [v for r in log for k, v in r.items() if k.endswith("/loss") and isinstance(v, float)]
    rollbacks = [r for r in log if r.get("event") == "rollback"]
    result = {"preset": name, "seed": seed, "state": status.get("state"), "steps": frame.get("step", 0),
              "steps_needed": spec["steps"], "capped": bool(status.get("capped")),
              "steps_per_s": status.get("steps_per_s"), "rollbacks": len(rollbacks), **(frame.get("readout") or {})}
    if evals and "active_units" in evals[-1]:
        result["active_units"] = evals[-1]["active_units"]
    if evals and "likelihood" in evals[-1]:
        result["final_bits_per_dim"] = evals[-1]["likelihood"]
    if rollbacks:  # recovered: it trained on after the last rollback and ended with a finite, falling loss
        last = rollbacks[-1]["step"]
        after = [r for r in log if r.get("step", 0) > last and any(k.endswith("/loss") for k in r)]
        result["recovered"] = bool(status.get("state") == "finished" and len(after) >= 10 and all(
            math.isfinite(v) for r in after for k, v in r.items() if k.endswith("/loss")))
    result["final_loss"] = losses[-1] if losses else None
    return result


def expectation(r: dict) -> bool:
    name = r["preset"]
    if name == "Mode collapse":
        return r.get("modes_covered", 99) <= 3
    if name == "Rescued":
        return r.get("modes_covered") == 8 and r.get("high_quality", 0) >= 0.8
    if name == "Divergence":
        return r["rollbacks"] >= 1 and r.get("recovered", False)
    if name == "Posterior collapse":
        return r.get("active_units", 99) <= 1
    if name == "Posterior rescued":
        return r.get("active_units", 0) >= 4
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", action="append", choices=list(PRESETS), help="default: every preset")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time cap per run (default 60)")
    parser.add_argument("--parallel", type=int, default=2, help="runs at once, one thread each (default 2)")
    parser.add_argument("--cpu-share", type=float, default=None,
                        help="hold each worker to this share of one core, e.g. 0.33 for a host 3x slower (needs root)")
    parser.add_argument("--out", default=None,
                        help="writes OUT.md and OUT.json (default docs/lab-presets, or docs/lab-presets-slow with "
                             "--cpu-share)")
    args = parser.parse_args()
    if args.out is None:
        args.out = str(REPO / "docs" / ("lab-presets-slow" if args.cpu_share else "lab-presets"))
    names = args.preset or list(PRESETS)
    jobs = [(n, s) for n in names for s in range(args.seeds)]
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="lab-presets-") as tmp, ThreadPoolExecutor(args.parallel) as pool:
        results = list(pool.map(lambda job: run_one(job[0], job[1], args.seconds, Path(tmp), args.cpu_share), jobs))
    for r in results:
        r["as_expected"] = expectation(r)
        print(json.dumps(r))
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    if args.cpu_share:
        machine += f", each worker held to {args.cpu_share:g} of a core by a cgroup CPU quota"
    rows = []
    for name in names:
        mine = [r for r in results if r["preset"] == name]
        cells = []
        for r in mine:
            if "active_units" in r:
                cell = f"{r['active_units']} active"
            elif "modes_covered" in r:
                cell = f"{r['modes_covered']}/8, {100 * r['high_quality']:.0f}% HQ"
            else:
                cell = (f"{r['rollbacks']} rollback{'s' if r['rollbacks'] != 1 else ''}, "
                        f"{'recovered' if r.get('recovered') else 'not recovered'}")
            cells.append(cell + (f" (capped at step {r['steps']:,})" if r["capped"] else ""))
        ok = sum(r["as_expected"] for r in mine)
        pace = [r["steps_per_s"] for r in mine if r.get("steps_per_s")]
        pace_cell = f"{min(pace):.0f}–{max(pace):.0f}" if pace else "–"
        rows.append(f"| {name} | {mine[0]['steps_needed']:,} | {pace_cell} | {' · '.join(cells)} | "
                    f"{ok} of {len(mine)} |")
    table = (f"| preset | steps | steps/s | per seed (0, 1, ...), time cap {args.seconds:g} s | as expected |\n"
             "|---|---|---|---|---|\n" + "\n".join(rows))
    atomic_write_json(Path(args.out + ".json"), {"seconds": args.seconds, "cpu_share": args.cpu_share,
                                                 "machine": machine, "results": results})
    atomic_write_text(Path(args.out + ".md"), f"# Lab presets\n\n`python scripts/bench/lab_presets.py` on {machine} "
                      f"({time.time() - t0:.0f} s wall).\n\n{table}\n")
    print(table)


if __name__ == "__main__":
    main()
