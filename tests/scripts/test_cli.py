"""The newcomer's path: help that answers without the heavy stack, the app without torch, README's commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The scripts people run (text_reference.py is a module that train_reference.py imports).
SCRIPTS = sorted(str(p.relative_to(ROOT / "scripts")) for p in [*(ROOT / "scripts").glob("*.py"),
                                                                  *(ROOT / "scripts" / "bench").glob("*.py")]
                 if '__name__ == "__main__"' in p.read_text())

#: A sitecustomize module that makes imports of the packages named in STUDIO_BLOCKED_IMPORTS fail, as on a machine
#: without them. Python imports it at start-up, so a script runs exactly as ``python SCRIPT`` runs it.
BLOCKER = """
import os, sys
BLOCKED = set(os.environ["STUDIO_BLOCKED_IMPORTS"].split(","))
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: this path must not import it")
sys.meta_path.insert(0, Blocker())
"""


@pytest.fixture(scope="module")
def blocker(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("blocker")
    (folder / "sitecustomize.py").write_text(BLOCKER)
    return folder


def run_blocked(blocker: Path, blocked: str, *command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python *command`` in the checkout, with the named top-level packages unimportable."""
    env = {**os.environ, "PYTHONPATH": str(blocker), "STUDIO_BLOCKED_IMPORTS": blocked}
    return subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("script", ["app.py", *(f"scripts/{s}" for s in SCRIPTS)])
def test_help_answers_without_importing_the_heavy_stack(blocker, script):
    # Fast help means reading the arguments before torch, gradio or onnxruntime are imported.
    done = run_blocked(blocker, "torch,torchaudio,gradio,onnxruntime,transformers,onnx,pandas,matplotlib",
                       script, "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_vq_ceiling_names_the_training_command_when_there_is_no_run(blocker, tmp_path):
    done = run_blocked(blocker, "torch,onnxruntime", "scripts/bench/vq_ceiling.py", "--run-dir", str(tmp_path))
    assert done.returncode != 0
    assert "python scripts/train_transformer.py --modality image" in done.stderr


def test_the_blocker_really_blocks(blocker):
    done = run_blocked(blocker, "torch", "-c", "import torch")
    assert done.returncode != 0 and "torch is blocked" in done.stderr


def test_the_app_builds_without_torch(blocker):
    # requirements-app.txt has no torch: the whole app, music rendering included, must work without it.
    done = run_blocked(blocker, "torch,torchaudio,transformers,onnx,onnxscript",
                       "-c", "import app; app.build_demo(); print('built')", timeout=300)
    assert done.returncode == 0 and "built" in done.stdout, done.stderr[-3000:]


def test_app_requirements_are_a_subset_without_the_training_stack():
    def names(path: Path) -> set[str]:
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return {line.split(";")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower() for line in lines if line}

    app, full = names(ROOT / "requirements-app.txt"), names(ROOT / "requirements.txt")
    assert not app & {"torch", "torchaudio", "transformers", "onnxscript", "onnxruntime-gpu"}
    assert app <= full, f"requirements-app.txt asks for packages the full install lacks: {app - full}"


def test_readme_prints_two_commands_that_ci_runs():
    from scripts.run_readme_commands import quick_start_commands

    app, tests = quick_start_commands((ROOT / "README.md").read_text())
    assert "app.py" in app and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "python3 scripts/run_readme_commands.py" in ci  # runs the app command as README prints it
    assert tests in ci, f"CI must run README's test command as printed: {tests}"
