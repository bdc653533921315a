"""Shared fixtures: tiny models trained and exported once per session, and a launched app server on a copy of
trained/ with broken entries added."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHROMIUM = "/usr/bin/chromium"
#: What the app tests serve (a copy of it): trained/, or e.g. runs/tiny/trained to try the app code on tiny models.
TRAINED_SOURCE = Path(os.environ.get("STUDIO_TEST_TRAINED_DIR") or ROOT / "trained")

from studio.local_server import free_port, wait_for_http  # noqa: E402


def served_copy_of_trained(dest: Path) -> Path:
    """trained/ plus one entry whose ONNX file is corrupt and one whose file is missing."""
    shutil.copytree(TRAINED_SOURCE, dest)
    data = json.loads((dest / "manifest.json").read_text())
    template = next(e for e in data["models"] if e["modality"] == "image")
    for broken_id in ("image-corrupt", "image-missing"):
        folder = dest / broken_id
        shutil.copytree(dest / template["id"], folder)
        entry = {**template, "id": broken_id}
        for key in ("onnx", "config", "metrics", "card", "curves", "preview"):
            entry[key] = entry[key].replace(template["id"], broken_id)
        data["models"].append(entry)
    (dest / "image-corrupt" / "generator.onnx").write_bytes(b"this is not an onnx file")
    (dest / "image-missing" / "generator.onnx").unlink()
    (dest / "manifest.json").write_text(json.dumps(data, indent=2))
    return dest


def served_ids(modality: str) -> list[str]:
    """The ids of ``modality`` models the served copy will hold (for skipping tests before any is trained)."""
    path = TRAINED_SOURCE / "manifest.json"
    models = json.loads(path.read_text())["models"] if path.exists() else []
    return [e["id"] for e in models if e["modality"] == modality]


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    trained = served_copy_of_trained(tmp_path_factory.mktemp("served") / "trained")
    port = free_port()
    env = {**os.environ, "STUDIO_TRAINED_DIR": str(trained), "STUDIO_DEVICE": "cpu"}
    log = open(tmp_path_factory.mktemp("logs") / "app.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, proc)
        yield {"url": url, "proc": proc, "trained": trained}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@dataclass
class TinyExport:
    process: Any  # the trained studio.families.base.GenerativeProcess, in eval mode
    data: Any  # a random batch of 64 samples shaped like the recipe's data
    folder: Path  # generator.onnx and its extra files
    report: dict  # what process.export returned (files, parity)


@pytest.fixture(scope="session")
def music_pipeline(tmp_path_factory):
    """All four tiny music models trained on the Bach chorales, exported, evaluated and registered by the
    pipeline the training scripts run, once per session: {"trained": folder, family: pipeline.run's result}.
    Skips when the chorales are not prepared."""
    from studio.modalities import ALL
    from studio.music.data import cache_path
    from studio.training.pipeline import run

    if not cache_path().exists():
        pytest.skip("the Bach chorales are not prepared (bash scripts/get_data.sh)")
    tmp = tmp_path_factory.mktemp("music")
    results: dict[str, Any] = {"trained": tmp / "trained"}
    for family in ("transformer", "vae", "gan", "flow"):
        results[family] = run(family, ALL, ["--modality", "music", "--preset", "tiny", "--quiet", "--run-dir",
                                            str(tmp / "runs" / family), "--out-dir", str(results["trained"])])
    return results


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory, request):
    """``tiny_export(family, modality)``: the recipe's tiny model trained a few steps and exported through
    ``process.export`` (with its parity checks), once per session: the music VAE's unrolled decoder takes
    minutes to export. A music model comes from the session's music pipeline run when the chorales are
    prepared (so that graph is exported once in all), else from 4 steps on random data. Tests read the
    files; a test that changes one works on a copy."""
    import torch

    from studio.music.data import cache_path
    from studio.training.loop import LoopConfig, Trainer
    from tests.builders import build_tiny, random_batches

    done: dict[tuple[str, str], TinyExport] = {}

    def get(family: str, modality: str) -> TinyExport:
        if (family, modality) in done:
            return done[(family, modality)]
        torch.manual_seed(0)
        if modality == "music" and cache_path().exists():
            result = request.getfixturevalue("music_pipeline")[family]
            process, report = result["process"].eval(), result["exported"]
            folder = report["onnx"].parent
        else:
            process = build_tiny(family, modality)
            folder = tmp_path_factory.mktemp(f"{modality}-{family}")
            Trainer(process, random_batches(process.example_batch(64), 8, seed=0, device="cpu"),
                    LoopConfig(steps=4, ckpt_every=2, warmup_steps=1), folder / "run", show_progress=False).fit()
            report = process.export(folder)
        done[(family, modality)] = TinyExport(process.eval(), process.example_batch(64), folder, report)
        return done[(family, modality)]

    return get
