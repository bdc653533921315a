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

from studio.local_server import free_port, wait_for_http
from studio.registry import manifest

ROOT = Path(__file__).resolve().parent.parent
#: What the app tests serve (a copy of it): trained/, or e.g. runs/tiny/trained to try the app code on tiny models.
TRAINED_SOURCE = Path(os.environ.get("STUDIO_TEST_TRAINED_DIR") or ROOT / "trained")


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
    votes = tmp_path_factory.mktemp("votes")  # the Evaluate tab's SQLite file, away from the project's data/
    env = {**os.environ, "STUDIO_TRAINED_DIR": str(trained), "STUDIO_DEVICE": "cpu", "STUDIO_DATA_DIR": str(votes)}
    env.pop("STUDIO_DB_URL", None)
    log = open(tmp_path_factory.mktemp("logs") / "app.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, proc)
        yield {"url": url, "proc": proc, "trained": trained, "votes": votes}
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
    warnings: list[str]  # what Python warned about while it was exported (and, for music, trained)


def recorded_warnings(call: Any) -> tuple[Any, list[str]]:
    """``call()``'s result and every warning it raised, each as 'Category: message'."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [f"{w.category.__name__}: {w.message}" for w in caught]


#: The tiny music VAE, trained and registered by its script in a background process started once the tests are
#: collected: its unrolled decoder takes minutes to export, and the rest of the suite runs meanwhile.
_BACKGROUND: dict[str, Any] = {}
MUSIC_FAMILIES = ("transformer", "vae", "gan", "flow")


def pytest_collection_finish(session: pytest.Session) -> None:
    from studio.music.data import cache_path

    wanted = any({"music_pipeline", "tiny_export"} & set(getattr(item, "fixturenames", ())) for item in session.items)
    if not wanted or not cache_path().exists() or session.config.option.collectonly:
        return
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="studio-music-vae-"))
    log = open(folder / "log.txt", "w")
    cmd = [sys.executable, "scripts/train_vae.py", "--modality", "music", "--preset", "tiny", "--quiet",
           "--run-dir", str(folder / "run"), "--out-dir", str(folder / "trained")]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    _BACKGROUND.update(folder=folder, log=log, proc=proc)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that read the background music VAE run last, so its export overlaps everything else."""
    items.sort(key=lambda item: item.get_closest_marker("uses_music_vae") is not None)  # a stable sort


def pytest_sessionfinish(session: pytest.Session) -> None:
    if "proc" in _BACKGROUND:
        _BACKGROUND["proc"].kill()
        _BACKGROUND["proc"].wait()
        _BACKGROUND["log"].close()
        shutil.rmtree(_BACKGROUND["folder"], ignore_errors=True)


def _background_vae(trained: Path) -> dict[str, Any]:
    """Wait for the background music VAE, copy its entry into ``trained``; a pipeline result without the
    in-memory process, which is rebuilt from its final checkpoint."""
    import torch

    from studio.training.recipe import resolve
    from tests.builders import recipe_of

    proc, folder = _BACKGROUND["proc"], _BACKGROUND["folder"]
    proc.wait(timeout=1200)
    assert proc.returncode == 0, (folder / "log.txt").read_text()[-3000:]
    entry = manifest.get("music-vae", folder / "trained")
    shutil.copytree(folder / "trained" / "music-vae", trained / "music-vae")
    manifest.upsert(entry, trained)
    metrics = json.loads(manifest.path_of(entry, "metrics", trained).read_text())
    process = recipe_of("vae", "music").build(resolve(recipe_of("vae", "music"), "music", "tiny"), None)
    process.load_state_dict(torch.load(folder / "run" / "checkpoint.pt", weights_only=False)["process"])
    extra = {key: Path(entry[key]["path"]).name for key in manifest.EXTRA_FILES if key in entry}
    exported = {"onnx": manifest.path_of(entry, "onnx", trained), "files": extra, "parity": metrics["export_parity"]}
    warned = [line for line in (folder / "log.txt").read_text().splitlines() if "Warning: " in line]
    return {"entry": entry, "metrics": metrics, "process": process.cpu().eval(), "exported": exported,
            "warnings": warned}


class MusicPipeline(dict):
    """{"trained": folder, family: pipeline.run's result}; the VAE's result is fetched on first use."""

    def __missing__(self, family: str) -> dict[str, Any]:
        if family != "vae":
            raise KeyError(family)
        if "proc" in _BACKGROUND:
            self["vae"] = _background_vae(self["trained"])
        else:
            self["vae"] = _run_music("vae", self["trained"])
        return self["vae"]


def _run_music(family: str, trained: Path) -> dict[str, Any]:
    from studio.modalities import ALL
    from studio.training.pipeline import run

    result, warned = recorded_warnings(lambda: run(family, ALL, [
        "--modality", "music", "--preset", "tiny", "--quiet", "--run-dir", str(trained.parent / "runs" / family),
        "--out-dir", str(trained)]))
    return {**result, "warnings": warned}


@pytest.fixture(scope="session")
def music_pipeline(tmp_path_factory) -> MusicPipeline:
    """All four tiny music models trained on the Bach chorales, exported, evaluated and registered by the
    training pipeline, once per session. The VAE comes from the background run (pytest_collection_finish),
    waited for only when a test reads it. Skips when the chorales are not prepared."""
    from studio.music.data import cache_path

    if not cache_path().exists():
        pytest.skip("the Bach chorales are not prepared (bash scripts/get_data.sh)")
    results = MusicPipeline(trained=tmp_path_factory.mktemp("music") / "trained")
    for family in MUSIC_FAMILIES:
        if family != "vae":
            results[family] = _run_music(family, results["trained"])
    return results


def tiny_batches(example):  # noqa: ANN001, ANN201 - a tensor, or a tuple of aligned tensors (samples, labels)
    """Batches of 8 drawn from ``example``; the parts of a tuple batch stay aligned (same rows)."""
    from tests.builders import random_batches

    if isinstance(example, tuple):
        parts = [random_batches(part, 8, seed=0, device="cpu") for part in example]
        return lambda step: tuple(part(step) for part in parts)
    return random_batches(example, 8, seed=0, device="cpu")


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory, request):
    """``tiny_export(family, modality)``: the recipe's tiny model trained a few steps and exported through
    ``process.export`` (with its parity checks), once per session: the music VAE's unrolled decoder takes
    minutes to export. A music model comes from the session's music pipeline run when the chorales are
    prepared (so that graph is exported once in all), else from 4 steps on random data. Tests read the
    files; a test that changes one works on a copy."""
    from studio.music.data import cache_path
    from studio.training.loop import LoopConfig, Trainer
    from tests.builders import build_tiny

    done: dict[tuple[str, str], TinyExport] = {}

    def get(family: str, modality: str) -> TinyExport:
        if (family, modality) in done:
            return done[(family, modality)]
        if modality == "music" and cache_path().exists():
            result = request.getfixturevalue("music_pipeline")[family]
            process, report, warned = result["process"], result["exported"], result["warnings"]
            folder = report["onnx"].parent
        else:
            process = build_tiny(family, modality)
            folder = tmp_path_factory.mktemp(f"{modality}-{family}")
            Trainer(process, tiny_batches(process.example_batch(64)),
                    LoopConfig(steps=4, ckpt_every=2, warmup_steps=1), folder / "run", show_progress=False).fit()
            report, warned = recorded_warnings(lambda: process.export(folder))
        done[(family, modality)] = TinyExport(process.eval(), process.example_batch(64), folder, report, warned)
        return done[(family, modality)]

    return get
