"""Training under torchrun: 2 CPU processes with gloo run the one loop, match one process, and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from studio.registry.record import DataMissing
from studio.text.data import texts_dir
from studio.training.distributed import SINGLE, World, shard
from studio.training.loop import LOG, read_log

ROOT = Path(__file__).resolve().parents[2]
try:
    HAVE_TEXT = texts_dir().exists()
except DataMissing:
    HAVE_TEXT = False
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def _env() -> dict[str, str]:
    # One thread per rank: two ranks on two cores, as a user would run them.
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def test_each_rank_takes_its_own_contiguous_share_of_the_batch():
    batch = {"x": torch.arange(8), "pair": (torch.arange(8) * 10, torch.arange(8) * 100)}
    first, second = shard(batch, World(0, 2)), shard(batch, World(1, 2))
    assert first["x"].tolist() == [0, 1, 2, 3] and second["x"].tolist() == [4, 5, 6, 7]
    assert second["pair"][1].tolist() == [400, 500, 600, 700]
    assert shard(batch, SINGLE) is batch


def test_a_batch_that_does_not_split_evenly_names_the_fix():
    with pytest.raises(ValueError, match="nproc_per_node"):
        shard(torch.zeros(9, 2), World(0, 2))


def _losses(run_dir: Path) -> dict[int, float]:
    return {r["step"]: r["transformer/loss"] for r in read_log(run_dir / LOG) if "transformer/loss" in r}


def _single_process_losses(run_dir: Path, steps: int) -> dict[int, float]:
    """The same recipe, preset and steps in this process: one rank of one, the whole batch."""
    from studio.modalities import BY_NAME
    from studio.training.loop import LoopConfig, Trainer
    from studio.training.recipe import resolve, stages

    recipes = BY_NAME["text"].recipes()
    recipe = recipes.RECIPES["transformer"]
    config = resolve(recipe, "text", "tiny", steps)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each rank runs
    try:
        for _, process, batches, loop in stages(recipe, config, recipes.load_data(None), "cpu"):
            Trainer(process, batches, LoopConfig(**loop), run_dir, show_progress=False).fit()
    finally:
        torch.set_num_threads(threads)
    return _losses(run_dir)


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_TEXT, reason="the plays are not installed (bash scripts/get_data.sh)")
def test_two_gloo_processes_follow_the_single_process_loss_curve(tmp_path):
    """The tiny text Transformer (no noise in its loss): 2 ranks of 4 windows each vs 1 process of 8."""
    ddp = subprocess.run([*TORCHRUN, "scripts/train_transformer.py", "--modality", "text", "--preset", "tiny",
                          "--quiet", "--steps", "12", "--eval-samples", "16", "--run-dir", str(tmp_path / "two"),
                          "--out-dir", str(tmp_path / "two-trained")],
                         cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one, two = _single_process_losses(tmp_path / "one", 12), _losses(tmp_path / "two")
    assert sorted(two) == sorted(one) == list(range(1, 13))
    for step in one:
        assert two[step] == pytest.approx(one[step], rel=1e-3), f"step {step}: {two[step]} vs {one[step]}"
    assert one[12] < one[1]  # and it learns
    log = read_log(tmp_path / "two" / LOG)
    assert any(r.get("event") == "distributed" and r["processes"] == 2 for r in log)
    assert (tmp_path / "two-trained" / "text-transformer" / "generator.onnx").exists()  # rank 0 registered it


def test_a_killed_two_process_run_resumes_and_completes(tmp_path):
    steps, out = 60, tmp_path / "run"
    cmd = [*TORCHRUN, str(ROOT / "tests" / "toy.py"), str(out), str(steps)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline, last = time.time() + 120, 0
    while time.time() < deadline and proc.poll() is None:
        records = read_log(out / LOG) if (out / LOG).exists() else []
        last = max([r.get("step", 0) for r in records if "event" not in r] or [0])
        if last >= 25:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the launcher and both ranks, as a lost machine would
    proc.wait()
    assert 25 <= last < steps, f"the run should have been killed mid-way (last step logged: {last})"

    again = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr[-3000:]
    records = read_log(out / LOG)
    assert [r["step"] for r in records if "event" not in r] == list(range(1, steps + 1))
    assert any(r.get("event") == "resume" and r["step"] >= 20 for r in records)
    assert torch.load(out / "checkpoint.pt", weights_only=False)["state"]["step"] == steps
