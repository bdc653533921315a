"""The one training loop, for every family.

It steps each of the process's phases, clips and logs gradient norms, follows a warm-up +
cosine LR schedule, keeps EMA weights, logs every loss term to JSONL, draws a preview and
evaluates every k steps, checkpoints atomically and resumes by default. A NaN/Inf or
divergent loss rolls back to the last good checkpoint with half the learning rate.
It never asks which family it runs. Under torchrun every process runs it on its share of each batch
(studio/training/distributed.py); rank 0 alone writes files.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from studio.atomic import atomic_write, atomic_write_text
from studio.families.base import GenerativeProcess, Phase
from studio.training import distributed
from studio.training.distributed import SINGLE, World
from studio.training.logs import LOG, curves_from_log, read_log  # noqa: F401 - re-exported
from studio.training.recipe import BatchFn

CHECKPOINT = "checkpoint.pt"
PREVIEW = "preview.png"



@dataclass
class LoopConfig:
    steps: int
    ckpt_every: int = 500
    log_every: int = 10
    preview_every: int = 500
    eval_every: int = 0  # 0: only at the end
    grad_clip: float = 1.0
    warmup_steps: int = 100
    min_lr_fraction: float = 0.1
    ema_decay: float = 0.999
    divergence_factor: float = 50.0  # a loss this many times its running size counts as divergence
    max_rollbacks: int = 5
    seed: int = 0


class TrainingDiverged(RuntimeError):
    """Training kept producing non-finite or exploding losses after every rollback."""


def lr_multiplier(step: int, cfg: LoopConfig) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_fraction``."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr_fraction + (1 - cfg.min_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))


def seed_step(seed: int) -> None:
    """Seed a step's random draws. ``torch.manual_seed`` also seeds every accelerator backend, and where none is
    initialised each of them formats a stack trace to defer the call: half a millisecond a step, 6% of a Lab
    step. A CPU-only process seeds the CPU generator alone, which is all ``torch.manual_seed`` changes there."""
    if torch.cuda.is_initialized():
        torch.manual_seed(seed)
    else:
        torch.default_generator.manual_seed(seed)


def make_optimizer(phase: Phase) -> torch.optim.Optimizer:
    """Adam; with weight decay, AdamW's decoupled decay on the weight matrices only.

    Adam's own ``weight_decay`` adds the decay to the gradient, where Adam's normalisation blows
    it up for weights with small gradients (a fresh attention layer's): they are driven to zero.
    """
    params = [p for p in phase.module.parameters() if p.requires_grad]
    if not phase.weight_decay:
        return torch.optim.Adam(params, lr=phase.lr, betas=phase.betas)
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": phase.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]  # biases, norms
    return torch.optim.AdamW(groups, lr=phase.lr, betas=phase.betas)


@dataclass
class _State:
    step: int = 0
    lr_scale: float = 1.0
    rollbacks: int = 0
    loss_scale: dict[str, float] = field(default_factory=dict)  # running |loss| per phase


class Trainer:
    def __init__(self, process: GenerativeProcess, batches: BatchFn, cfg: LoopConfig, out_dir: str | Path,
                 device: str | torch.device = "cpu", resume: bool = True, show_progress: bool = True,
                 world: World = SINGLE):
        self.world = world  # under torchrun: this rank's place; rank 0 alone writes files
        self.process = process.to(device)
        self.batches = batches
        self.cfg = cfg
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.device = torch.device(device)
        self.show_progress = show_progress and world.is_main
        self.phases = process.phases()
        self.optimizers = {p.name: make_optimizer(p) for p in self.phases}
        self.state = _State()
        distributed.barrier(world)  # every rank sees the folder before rank 0 writes into it
        resuming = resume and self.checkpoint_path.exists()
        distributed.barrier(world)
        if resuming:
            self._load_checkpoint()
            if world.is_main:
                self._truncate_log(self.state.step)
            self._log({"event": "resume", "step": self.state.step})
            for name in self.optimizer_resets:
                self._log({"event": "optimizer_reset", "phase": name, "step": self.state.step,
                           "why": "the checkpoint's optimiser state has another layout; moments start afresh"})
        else:
            if world.is_main:
                self.log_path.unlink(missing_ok=True)
            distributed.broadcast_state(self.process, world)  # every rank starts from rank 0's weights
            self._save_checkpoint()  # step 0: a rollback always has somewhere to go
        if world.size > 1:
            self._log({"event": "distributed", "step": self.state.step, "processes": world.size})

    # -- paths -------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / CHECKPOINT

    @property
    def log_path(self) -> Path:
        return self.out_dir / LOG

    # -- checkpoints -------------------------------------------------------------------
    def _save_checkpoint(self) -> None:
        if not self.world.is_main:
            return
        payload = {
            "process": self.process.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "state": asdict(self.state),
            "loop_config": asdict(self.cfg),
        }
        atomic_write(self.checkpoint_path, lambda tmp: torch.save(payload, tmp))

    def _load_checkpoint(self) -> None:
        payload = torch.load(self.checkpoint_path, map_location=self.device, weights_only=False)
        self.process.load_state_dict(payload["process"])
        self.optimizer_resets = []
        for name, opt in self.optimizers.items():
            try:
                opt.load_state_dict(payload["optimizers"][name])
            except (ValueError, KeyError):  # saved by another optimiser layout: the weights are what matter
                self.optimizer_resets.append(name)
        self.state = _State(**payload["state"])

    # -- logging -----------------------------------------------------------------------
    def _log(self, record: dict[str, Any]) -> None:
        if not self.world.is_main:
            return
        with open(self.log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if "event" in record and self.show_progress:
            tqdm.write(f"[{record['event']}] " + ", ".join(f"{k}={v}" for k, v in record.items() if k != "event"))

    def _truncate_log(self, step: int) -> None:
        """Drop records a killed run wrote after its last checkpoint, so the log replays cleanly."""
        if not self.log_path.exists():
            return
        kept = []
        for line in self.log_path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut off by the kill
            if record.get("step", 0) <= step:
                kept.append(line)
        atomic_write_text(self.log_path, "".join(k + "\n" for k in kept))

    # -- the loop ----------------------------------------------------------------------
    def _set_lr(self, step: int) -> float:
        mult = lr_multiplier(step, self.cfg) * self.state.lr_scale
        for phase in self.phases:
            for group in self.optimizers[phase.name].param_groups:
                group["lr"] = phase.lr * mult
        return mult

    def _is_divergent(self, name: str, loss: float) -> str | None:
        if not math.isfinite(loss):
            return f"non-finite {name} loss ({loss})"
        scale = self.state.loss_scale.get(name)
        if scale is not None and self.state.step > self.cfg.warmup_steps:
            if abs(loss) > self.cfg.divergence_factor * max(scale, 1.0):
                return f"{name} loss {loss:.4g} is over {self.cfg.divergence_factor:g}x its running size {scale:.3g}"
        return None

    def _rollback(self, reason: str) -> None:
        failed_step = self.state.step
        rollbacks, lr_scale = self.state.rollbacks + 1, self.state.lr_scale * 0.5
        if rollbacks > self.cfg.max_rollbacks:
            raise TrainingDiverged(
                f"training diverged {rollbacks} times (last: {reason} at step {failed_step}); "
                "lower the learning rate in the preset or check the data"
            )
        distributed.barrier(self.world)  # the last checkpoint is on disk for every rank
        self._load_checkpoint()
        self.state.rollbacks, self.state.lr_scale = rollbacks, lr_scale
        self._log({"event": "rollback", "step": self.state.step, "failed_step": failed_step,
                   "reason": reason, "lr_scale": lr_scale})
        self._save_checkpoint()  # the lower LR survives a later kill
        distributed.barrier(self.world)

    def _update_ema(self) -> None:
        decay = self.cfg.ema_decay
        for live, ema in self.process.ema_pairs():
            with torch.no_grad():
                # one fused call per module instead of one per tensor: the same arithmetic, less Python per step
                torch._foreach_lerp_(list(ema.parameters()), list(live.parameters()), 1 - decay)
                for b_ema, b in zip(ema.buffers(), live.buffers()):
                    b_ema.copy_(b)

    def _train_step(self, step: int) -> dict[str, float] | str:
        """One step of every due phase. Returns the logged terms, or a divergence reason."""
        # Noise in losses replays on resume; each rank draws its own (one process: rank 0 of 1).
        seed_step((self.cfg.seed * 1_000_003 + step) * self.world.size + self.world.rank)
        batch = distributed.shard(self.batches(step), self.world)
        terms: dict[str, float] = {}
        self.process.train()
        for phase in self.phases:
            if step % phase.every:
                continue
            opt = self.optimizers[phase.name]
            opt.zero_grad(set_to_none=True)
            out = phase.loss(batch, step)
            loss = out["loss"]
            # The logged terms become numbers now, so the tensors behind them (and the graph they hold) are
            # freed before the backward pass instead of after the optimiser step: about 2% of a step.
            logged = {f"{phase.name}/{key}": float(val.detach()) if torch.is_tensor(val) else float(val)
                      for key, val in out.items()}
            del out
            value = logged[f"{phase.name}/loss"]
            if self.world.active:  # every rank judges the same mean loss, so all roll back together
                value = distributed.average_values([value], self.world, loss.device)[0]
            reason = self._is_divergent(phase.name, value)
            if reason:
                return reason
            loss.backward()
            distributed.average_gradients(phase.module.parameters(), self.world)
            grad_norm = float(nn.utils.clip_grad_norm_(phase.module.parameters(), self.cfg.grad_clip))
            if not math.isfinite(grad_norm):
                return f"non-finite {phase.name} gradient norm"
            opt.step()
            terms.update(logged)
            terms[f"{phase.name}/grad_norm"] = grad_norm
            prev = self.state.loss_scale.get(phase.name)
            self.state.loss_scale[phase.name] = abs(value) if prev is None else 0.98 * prev + 0.02 * abs(value)
        distributed.broadcast_buffers(self.process, self.world)
        self._update_ema()
        if self.world.active:  # the logged terms are the means over the ranks
            terms = dict(zip(terms, distributed.average_values(list(terms.values()), self.world, self.device)))
        return terms

    def advance(self, bar: tqdm | None = None) -> bool:
        """One step of the loop with its housekeeping (log, eval, preview, checkpoint at their intervals).
        False when the step diverged and the run rolled back instead."""
        cfg = self.cfg
        step = self.state.step
        mult = self._set_lr(step)
        result = self._train_step(step)
        if isinstance(result, str):
            self._rollback(result)
            if bar is not None:
                bar.n = self.state.step
                bar.refresh()
            return False
        self.state.step = step + 1
        if bar is not None:
            bar.update(1)
        if step % cfg.log_every == 0 or self.state.step == cfg.steps:
            self._log({"step": self.state.step, "lr_mult": mult, **result})
            if bar is not None:
                bar.set_postfix({k: f"{v:.3f}" for k, v in result.items() if k.endswith("/loss")}, refresh=False)
        if not self.world.is_main:
            return True
        if cfg.eval_every and self.state.step % cfg.eval_every == 0:
            self._log({"step": self.state.step, "eval": self.process.evaluate("val")})
        if cfg.preview_every and self.state.step % cfg.preview_every == 0:
            self.process.eval()
            self.process.write_preview(self.out_dir / PREVIEW, self.state.step)
        if self.state.step % cfg.ckpt_every == 0 or self.state.step == cfg.steps:
            self._save_checkpoint()
        return True

    def fit(self, should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
        """Train to ``cfg.steps``. ``should_stop`` (checked after every step) ends the run early, with a
        checkpoint of the last step and a "stopped" event: how a live run obeys a Stop button or a time cap."""
        cfg = self.cfg
        start = self.state.step
        bar = tqdm(total=cfg.steps, initial=start, desc=f"{self.process.modality}-{self.process.family}",
                   unit="step", disable=not self.show_progress, mininterval=1.0, dynamic_ncols=True)
        t0 = time.time()
        while self.state.step < cfg.steps:
            if not self.advance(bar):
                continue
            if should_stop is not None and self.state.step < cfg.steps and should_stop():
                self._save_checkpoint()
                self._log({"event": "stopped", "step": self.state.step})
                break
        bar.close()
        self._log({"event": "run_end", "step": self.state.step, "seconds": round(time.time() - t0, 2)})
        self.process.eval()
        if self.world.is_main:
            self.process.write_preview(self.out_dir / PREVIEW, self.state.step)
        distributed.barrier(self.world)
        return {"steps": self.state.step, "seconds_this_run": time.time() - t0,
                "rollbacks": self.state.rollbacks, "lr_scale": self.state.lr_scale}
