"""scripts/train_*.py end to end with the tiny preset: train, export, evaluate, register."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from studio.image.data import DEBIAN_DIR
from studio.onnx.contract import validate_file
from studio.registry import manifest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(not DEBIAN_DIR.exists(), reason="Fashion-MNIST is not installed (bash scripts/get_data.sh)")
@pytest.mark.parametrize("family", ["gan", "vae"])
def test_training_script_registers_a_complete_entry(family, tmp_path):
    out = tmp_path / "trained"
    cmd = [sys.executable, f"scripts/train_{family}.py", "--modality", "image", "--preset", "tiny", "--quiet",
           "--run-dir", str(tmp_path / "run"), "--out-dir", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    entry = manifest.get(f"image-{family}", out)
    assert manifest.verify(out) == []
    assert entry["steps"] == 30 and entry["dataset"] == "fashion-mnist"
    assert validate_file(manifest.path_of(entry, "onnx", out)).family == family
    metrics = json.loads(manifest.path_of(entry, "metrics", out).read_text())
    assert metrics["n_samples"] == 500 and "fd" in metrics
    assert metrics.get("likelihood_kind") == {"vae": "bound", "gan": None}[family]
    card = manifest.path_of(entry, "card", out).read_text()
    assert f"python scripts/train_{family}.py --modality image" in card
    if family != "gan":
        return  # one family shows the resume: running the script again starts from the finished checkpoint
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any(r.get("event") == "resume" and r["step"] == 30 for r in log)
