"""A Lab run in its worker process: frames, curves, its time limit, Stop, export, and a crash's message."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from studio.lab.view import GRID, read_frame, run_log
from studio.lab.worker import SPEC, STOP, read_status
from tests.conftest import ROOT

STARTUP_S = 30  # importing torch and building the run, on a busy 2-core machine


def start_worker(folder: Path, spec: dict) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SPEC).write_text(json.dumps(spec))
    return subprocess.Popen([sys.executable, "-m", "studio.lab.worker", str(folder)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab") / "gan"
    t0 = time.monotonic()
    proc = start_worker(folder, {"data": "ring", "family": "gan", "seconds": 5, "seed": 3})
    assert proc.wait(timeout=5 + STARTUP_S) == 0
    return folder, time.monotonic() - t0


def test_a_run_ends_at_its_time_limit_with_frames_and_curves(gan_run):
    folder, elapsed = gan_run
    status = read_status(folder)
    assert status["state"] == "finished" and status["steps"] > 20, status
    # 2,000 steps do not fit in 5 s here: the status says where the cap cut it and this machine's pace
    assert status["capped"] and status["steps"] < status["steps_needed"] == 2000 and status["steps_per_s"] > 0
    assert f"step {status['steps']:,} of 2,000" in status["message"]
    frame = read_frame(folder)
    assert len(frame["points"]) == 1000 and np.isfinite(frame["points"]).all()
    assert set(frame["readout"]) == {"modes_covered", "modes", "high_quality"}
    assert np.asarray(frame["heatmap"]).shape == (GRID, GRID)
    log = run_log(folder)
    assert any("d/d_real" in r and "g/loss" in r for r in log)


def test_a_finished_run_exports_a_generator_onnx_runtime_runs(gan_run):
    folder, _ = gan_run
    done = subprocess.run([sys.executable, "-m", "studio.lab.worker", "--export", str(folder)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    session = ort.InferenceSession(done.stdout.strip(), providers=["CPUExecutionProvider"])
    z = np.random.default_rng(0).standard_normal((5, session.get_inputs()[0].shape[1])).astype(np.float32)
    assert session.run(None, {"z": z})[0].shape == (5, 2)


def test_a_run_ends_after_its_steps_well_before_its_time_limit(tmp_path):
    proc = start_worker(tmp_path, {"data": "moons", "family": "flow", "steps": 120, "seconds": 90})
    assert proc.wait(timeout=60 + STARTUP_S) == 0
    status = read_status(tmp_path)
    assert status["state"] == "finished" and status["steps"] == 120 and not status["capped"], status
    assert read_frame(tmp_path)["step"] == 120


def test_stop_ends_an_image_run_with_a_checkpoint_and_a_class_histogram(tmp_path):
    proc = start_worker(tmp_path, {"data": "images", "family": "vae", "seconds": 60})
    deadline = time.monotonic() + STARTUP_S
    while (read_frame(tmp_path) or {}).get("step", 0) < 20 and time.monotonic() < deadline:
        time.sleep(0.2)
    (tmp_path / STOP).touch()
    assert proc.wait(timeout=20) == 0
    assert read_status(tmp_path)["state"] == "stopped"
    frame = read_frame(tmp_path)
    assert len(frame["images"]) == 16 and len(frame["readout"]["class_histogram"]) == 10
    log = run_log(tmp_path)
    assert log[-1]["event"] == "run_end" and any(r.get("event") == "stopped" for r in log)
    assert (tmp_path / "run" / "checkpoint.pt").exists()


def test_a_run_that_cannot_start_says_why(tmp_path):
    proc = start_worker(tmp_path, {"data": "ring", "family": "gan", "gan": {"lr_g": "fast"}})
    assert proc.wait(timeout=STARTUP_S) == 1
    status = read_status(tmp_path)
    assert status["state"] == "failed" and "Generator learning rate must be a number" in status["message"]
