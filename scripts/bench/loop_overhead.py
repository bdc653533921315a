#!/usr/bin/env python
"""What the one training loop costs on top of the training itself, per cpu-preset run.

    python scripts/bench/loop_overhead.py                    # every generator in trained/
    python scripts/bench/loop_overhead.py text-transformer   # just these
    python scripts/bench/loop_overhead.py --out docs/loop-overhead.md

For each stage of each cpu-preset recipe, in one process and on the same batches:
- a **bare loop** (batch, forward, backward, gradient clip, optimiser step: nothing else) and the
  **real loop** (``Trainer.advance``: LR schedule, per-step seeding, divergence guard, EMA, logging) run
  step by step, alternating, so each pair of steps shares the machine's state of the moment; the median
  of several rounds' loop/bare ratios is kept;
- the loop's periodic work is timed once each: an atomic checkpoint, a preview, a validation evaluation;
- the overhead of the full preset run is then (loop step - bare step) / bare step, plus the periodic
  work times how often the preset does it, over the preset's steps times the bare step.

Weights are random (the cost of a step does not depend on them). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
from pathlib import Path

from studio.registry import manifest

TARGET = 0.05  # the loop may add at most 5% to a cpu-preset run


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=24, help="steps per timed round, each side (default: 24)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds; the median of their ratios is kept (default: 5)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: every core)")
    parser.add_argument("--out", default=None, help="also write the table (markdown) here")
    parser.add_argument("ids", nargs="*", help="only these generators (default: every one in trained/)")
    return parser.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()  # --help answers before torch is imported

import torch  # noqa: E402 - after --help, which must not import it
from torch import nn  # noqa: E402 - after --help, which must not import it

from studio.atomic import atomic_write_text  # noqa: E402 - after --help, which must not import it
from studio.modalities import BY_NAME  # noqa: E402 - after --help, which must not import it
from studio.onnx.graph_flops import cpu_model  # noqa: E402 - after --help, which must not import it
from studio.training.loop import PREVIEW, LoopConfig, Trainer, make_optimizer  # noqa: E402 - after --help, which must not import it
from studio.training.recipe import resolve, stages  # noqa: E402 - after --help, which must not import it


def bare_step(process, batches, phases, optimizers, step: int, clip: float) -> float:  # noqa: ANN001
    """Seconds for one step of nothing but the training math."""
    t0 = time.perf_counter()
    process.train()
    batch = batches(step)
    for phase in phases:
        if step % phase.every:
            continue
        opt = optimizers[phase.name]
        opt.zero_grad(set_to_none=True)
        phase.loss(batch, step)["loss"].backward()
        nn.utils.clip_grad_norm_(phase.module.parameters(), clip)
        opt.step()
    return time.perf_counter() - t0


def loop_step(trainer: Trainer) -> float:
    t0 = time.perf_counter()
    trainer.advance()
    return time.perf_counter() - t0


def timed(fn) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_counts(cfg: LoopConfig) -> dict[str, int]:
    """How often a full run of this config checkpoints, previews and evaluates (fit's last ones included)."""
    s = cfg.steps
    return {"checkpoint": 1 + s // cfg.ckpt_every + (1 if s % cfg.ckpt_every else 0),  # 1: the step-0 one
            "preview": (s // cfg.preview_every if cfg.preview_every else 0) + 1,  # +1: fit's closing preview
            "eval": s // cfg.eval_every if cfg.eval_every else 0}


def measure_stage(process, batches, loop_cfg: dict, folder: Path, n: int, rounds: int) -> dict:  # noqa: ANN001
    cfg = LoopConfig(**loop_cfg)
    timed_steps = (rounds + 1) * n
    intervals = [cfg.ckpt_every, cfg.preview_every or cfg.steps, cfg.eval_every or cfg.steps, cfg.steps]
    if timed_steps >= min(intervals):  # periodic work inside a timed round would be counted twice
        n = max(2, min(intervals) // (rounds + 1) - 1)
    bare = copy.deepcopy(process)
    phases = bare.phases()
    optimizers = {p.name: make_optimizer(p) for p in phases}
    trainer = Trainer(process, batches, cfg, folder, resume=False, show_progress=False)
    for step in range(n):  # warm-up, both sides
        bare_step(bare, batches, phases, optimizers, step, cfg.grad_clip)
        loop_step(trainer)
    bare_times, loop_times = [], []
    for r in range(1, rounds + 1):
        # Step by step, alternating: each pair of steps shares the machine's state of the moment.
        pairs = []
        for i in range(n):  # which side goes first alternates too
            if i % 2:
                looped = loop_step(trainer)
                pairs.append((bare_step(bare, batches, phases, optimizers, r * n + i, cfg.grad_clip), looped))
            else:
                pairs.append((bare_step(bare, batches, phases, optimizers, r * n + i, cfg.grad_clip),
                              loop_step(trainer)))
        bare_times.append(sum(b for b, _ in pairs) / n)
        loop_times.append(sum(t for _, t in pairs) / n)
    # One ratio per round; their median shrugs off a round a neighbour disturbed.
    per_step = statistics.median(lt / bt - 1 for bt, lt in zip(bare_times, loop_times))
    bare_best = min(bare_times)
    process.eval()
    cost = {"checkpoint": min(timed(trainer._save_checkpoint) for _ in range(2)),
            "preview": min(timed(lambda: process.write_preview(folder / PREVIEW, trainer.state.step))
                           for _ in range(2)),
            "eval": timed(lambda: process.evaluate("val")) if cfg.eval_every else 0.0}
    counts = run_counts(cfg)
    periodic = sum(counts[k] * cost[k] for k in counts)
    return {"steps": cfg.steps, "bare_sps": 1 / bare_best, "loop_sps": 1 / (bare_best * (1 + per_step)),
            "per_step": per_step, "periodic_s": periodic, "cost": cost, "counts": counts,
            "bare_run_s": cfg.steps * bare_best, "overhead_s": cfg.steps * bare_best * per_step + periodic}


def measure_model(entry_id: str, n: int, rounds: int) -> list[dict]:
    modality_name, family = entry_id.split("-", 1)
    modality = BY_NAME[modality_name]
    recipes = modality.recipes()
    recipe = recipes.RECIPES[family]
    config = resolve(recipe, modality_name, "cpu")
    data = recipes.load_data(None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for stage, process, batches, loop_cfg in stages(recipe, config, data, "cpu"):
            torch.manual_seed(0)
            row = measure_stage(process, batches, loop_cfg, Path(tmp) / (stage or "main"), n, rounds)
            rows.append({"id": entry_id, "stage": stage or "-", **row})
            parts = ", ".join(f"{k} {v:.2f} s x{row['counts'][k]}" for k, v in row["cost"].items())
            print(f"  {entry_id} {stage or ''}: bare {row['bare_sps']:.2f} steps/s, loop {row['loop_sps']:.2f}, "
                  f"per step {row['per_step']:+.1%}, periodic {row['periodic_s']:.1f} s "
                  f"({parts})",
                  flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| model | stage | steps | bare steps/s | loop steps/s (no periodic work) | per step | periodic work "
             "| overhead of the run |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        total = r["overhead_s"] / r["bare_run_s"]
        flag = "" if total <= TARGET else " (over 5%)"
        lines.append(f"| {r['id']} | {r['stage']} | {r['steps']:,} | {r['bare_sps']:.2f} | {r['loop_sps']:.2f} | "
                     f"{r['per_step']:+.1%} | {r['periodic_s']:.0f} s | **{total:.1%}**{flag} |")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    ids = args.ids or [e["id"] for e in manifest.load()["models"]]
    load = os.getloadavg()[0]
    print(f"{cpu_model()}, {args.threads} threads, load average {load:.2f} at start", flush=True)
    rows = []
    for entry_id in ids:
        rows.extend(measure_model(entry_id, args.steps, args.rounds))
    text = table(rows)
    print(text)
    worst = max(r["overhead_s"] / r["bare_run_s"] for r in rows)
    print(f"worst overhead {worst:.1%} (target <= {TARGET:.0%})")
    if args.out:
        method = __doc__.split(chr(10) + chr(10), 2)[2]
        doc = (f"# The training loop's overhead\n\n`python scripts/bench/loop_overhead.py --out {args.out}` on "
               f"{cpu_model()}, {args.threads} threads, load average {load:.2f} at start.\n\n{method}\n"
               f"{text}\n\nWorst: {worst:.1%} (target: at most {TARGET:.0%}).\n")
        atomic_write_text(Path(args.out), doc)


if __name__ == "__main__":
    main(ARGS)
