"""The training loop: resume after a kill, the NaN guard, checkpoints, schedule, logging."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from studio.training.loop import LOG, LoopConfig, Trainer, TrainingDiverged, curves_from_log, lr_multiplier, read_log
from tests.toy import ToyProcess, toy_batches, toy_loop

ROOT = Path(__file__).resolve().parents[2]


def _fresh_toy() -> ToyProcess:
    torch.manual_seed(0)
    return ToyProcess()


def test_loop_logs_every_term_and_checkpoints(tmp_path):
    trainer = Trainer(_fresh_toy(), toy_batches, toy_loop(25), tmp_path, show_progress=False)
    summary = trainer.fit()
    assert summary["steps"] == 25
    records = [r for r in read_log(tmp_path / LOG) if "event" not in r]
    assert [r["step"] for r in records] == list(range(1, 26))
    assert {"toy/loss", "toy/out_mean", "toy/grad_norm", "lr_mult"} <= set(records[0])
    assert records[-1]["toy/loss"] < records[0]["toy/loss"]  # it learns
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert payload["state"]["step"] == 25
    assert (tmp_path / "preview.png").exists()
    curves = curves_from_log(tmp_path / LOG)
    assert len(curves["series"]["toy/loss"]) == 25


def test_resume_after_kill_loses_at_most_one_checkpoint_interval(tmp_path):
    """Kill a real training process mid-way; the rerun resumes and ends where an uninterrupted run ends."""
    steps, every = 60, 10
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "toy.py"), str(tmp_path / "run"), str(steps)],
                            cwd=ROOT)
    log = tmp_path / "run" / LOG
    deadline = time.time() + 60
    last = 0
    while time.time() < deadline:
        records = read_log(log) if log.exists() else []
        last = max([r.get("step", 0) for r in records if "event" not in r] or [0])
        if last >= 25:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 25 <= last < steps, "the run should have been killed mid-way"

    torch.manual_seed(0)
    resumed = Trainer(ToyProcess(), toy_batches, toy_loop(steps), tmp_path / "run", show_progress=False)
    assert resumed.state.step >= last - every  # no more than one interval lost
    resumed.fit()
    records = read_log(log)
    steps_logged = [r["step"] for r in records if "event" not in r]
    assert steps_logged == list(range(1, steps + 1)), "the log replays cleanly, without duplicated steps"

    # Per-step seeding and checkpointed optimiser state: the resumed run matches an uninterrupted one.
    straight = Trainer(_fresh_toy(), toy_batches, toy_loop(steps), tmp_path / "straight", show_progress=False)
    straight.fit()
    for a, b in zip(resumed.process.parameters(), straight.process.parameters()):
        torch.testing.assert_close(a, b)


def test_nan_rolls_back_to_last_checkpoint_with_lower_lr(tmp_path):
    torch.manual_seed(0)
    process = ToyProcess(nan_at_steps=(15,))
    trainer = Trainer(process, toy_batches, toy_loop(30), tmp_path, show_progress=False)
    summary = trainer.fit()
    assert summary["steps"] == 30 and summary["rollbacks"] == 1
    assert summary["lr_scale"] == pytest.approx(0.5)
    events = [r for r in read_log(tmp_path / LOG) if r.get("event") == "rollback"]
    assert len(events) == 1
    assert events[0]["failed_step"] == 15 and events[0]["step"] == 10  # back to the last good checkpoint
    assert "non-finite" in events[0]["reason"]
    assert all(torch.isfinite(p).all() for p in process.parameters())
    lrs = {r["step"]: r["lr_mult"] for r in read_log(tmp_path / LOG) if "lr_mult" in r}
    assert lrs[20] == pytest.approx(0.5 * lr_multiplier(19, toy_loop(30)))


def test_persistent_divergence_stops_with_a_clear_error(tmp_path):
    torch.manual_seed(0)
    process = ToyProcess(nan_at_steps=tuple(range(5, 30)))
    process.nan_at_steps = _Always()  # NaN every time from step 5
    trainer = Trainer(process, toy_batches, toy_loop(30, max_rollbacks=3), tmp_path, show_progress=False)
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        trainer.fit()


class _Always(set):
    def __contains__(self, step: object) -> bool:
        return isinstance(step, int) and step >= 5

    def discard(self, step: object) -> None:
        pass


def test_divergent_loss_is_caught(tmp_path):
    trainer = Trainer(_fresh_toy(), toy_batches, toy_loop(30, divergence_factor=10.0), tmp_path, show_progress=False)
    trainer.state.step = 5
    trainer.state.loss_scale["toy"] = 1.0
    assert trainer._is_divergent("toy", 100.0)
    assert trainer._is_divergent("toy", 2.0) is None


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    trainer = Trainer(_fresh_toy(), toy_batches, toy_loop(10), tmp_path, show_progress=False)
    before = (tmp_path / "checkpoint.pt").read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        trainer._save_checkpoint()
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_lr_schedule_warms_up_then_decays():
    cfg = LoopConfig(steps=100, warmup_steps=10, min_lr_fraction=0.1)
    assert lr_multiplier(0, cfg) == pytest.approx(0.1)
    assert lr_multiplier(9, cfg) == pytest.approx(1.0)
    assert lr_multiplier(10, cfg) == pytest.approx(1.0)
    assert lr_multiplier(100, cfg) == pytest.approx(0.1)
    assert lr_multiplier(55, cfg) < lr_multiplier(20, cfg)


def test_log_is_json_lines(tmp_path):
    Trainer(_fresh_toy(), toy_batches, toy_loop(5), tmp_path, show_progress=False).fit()
    for line in (tmp_path / LOG).read_text().splitlines():
        json.loads(line)
