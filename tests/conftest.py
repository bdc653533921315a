"""Shared fixtures: a launched app server on a copy of trained/ with broken entries added."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHROMIUM = "/usr/bin/chromium"
#: What the app tests serve (a copy of it): trained/, or e.g. runs/tiny/trained to try the app code on tiny models.
TRAINED_SOURCE = Path(os.environ.get("STUDIO_TEST_TRAINED_DIR") or ROOT / "trained")

from studio.processes import free_port, wait_for_http  # noqa: E402


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
