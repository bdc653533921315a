"""A Lab run in its own process, so a crash, a blow-up or a kill never touches the app.

    python -m studio.lab.worker RUN_DIR            # train the spec in RUN_DIR/spec.json
    python -m studio.lab.worker --export RUN_DIR   # its last checkpoint -> RUN_DIR/export/generator.onnx

The run streams through files in RUN_DIR: the loop's log.jsonl (curves, rollbacks), frame.json (samples,
heatmap, readout) and status.json (queued/running/finished/stopped/failed, with a message). It ends after
its steps, or earlier at its time limit (a safety cap: the status then says so, with this machine's
steps per second), when RUN_DIR/stop appears, or on SIGTERM, with a checkpoint of its last step.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

STATUS, STOP, SPEC = "status.json", "stop", "spec.json"


def write_status(run_dir: Path, state: str, message: str = "", **extra: Any) -> None:
    from studio.atomic import atomic_write_text

    atomic_write_text(run_dir / STATUS, json.dumps({"state": state, "message": message, **extra}))


def read_status(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(run_dir) / STATUS).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _classifier() -> Any:
    from studio.image.metrics import CLASSIFIER, REFERENCE_DIR
    from studio.onnx.runtime import make_session

    session = make_session(REFERENCE_DIR / CLASSIFIER, device="cpu", threads=1)
    return lambda images: session.run(["logits"], {"image": images})[0].argmax(1)


def train(run_dir: Path) -> int:
    from studio.lab.build import build
    from studio.lab.frames import FrameWriter
    from studio.lab.spec import validate
    from studio.training.loop import Trainer, TrainingDiverged

    spec = validate(json.loads((run_dir / SPEC).read_text()))
    stop_signal = {"set": False}
    signal.signal(signal.SIGTERM, lambda *_: stop_signal.update(set=True))
    write_status(run_dir, "running", "starting")
    lab = build(spec)
    classify = _classifier() if lab.kind == "images" else None
    frames = FrameWriter(lab.process, spec, run_dir, classify)
    lab.process.write_preview = frames  # the loop's preview hook draws the live frames
    trainer = Trainer(lab.process, lab.batches, lab.loop, run_dir / "run", resume=False, show_progress=False)
    deadline = time.monotonic() + spec["seconds"]  # the limit counts training time, not start-up
    parent = os.getppid()

    def should_stop() -> bool:
        # The app's Stop, the time limit, SIGTERM, or the app gone (this process was handed to init).
        return (stop_signal["set"] or time.monotonic() > deadline or (run_dir / STOP).exists()
                or os.getppid() != parent)

    write_status(run_dir, "running", "training", deadline=time.time() + spec["seconds"])
    try:
        summary = trainer.fit(should_stop=should_stop)
    except TrainingDiverged as exc:
        write_status(run_dir, "failed", f"Training diverged: {exc}.")
        return 1
    frames.write(summary["steps"])
    stopped = (run_dir / STOP).exists() or stop_signal["set"]
    steps, seconds = summary["steps"], summary["seconds_this_run"]
    rate = steps / max(seconds, 1e-9)
    capped = not stopped and steps < spec["steps"]
    message = cap_message(steps, spec["steps"], spec["seconds"], rate) if capped else \
        f"{steps:,} of {spec['steps']:,} steps in {seconds:.0f} s"
    write_status(run_dir, "stopped" if stopped else "finished", message, steps=steps, steps_needed=spec["steps"],
                 steps_per_s=round(rate, 1), capped=capped, rollbacks=summary["rollbacks"])
    return 0


def cap_message(steps: int, needed: int, seconds: float, rate: float) -> str:
    """What a run cut short by its time limit tells the user: how far it got, and why."""
    return (f"the {seconds:g} s time limit ended the run at step {steps:,} of {needed:,}: this machine trains "
            f"{rate:.0f} steps/s, so the {needed:,} steps would take about {needed / max(rate, 1e-9):.0f} s here. "
            "The readout is from an unfinished run; its lesson may not show yet. Fewer steps, or a less busy "
            "machine, finishes it.")


def export(run_dir: Path) -> Path:
    """Rebuild the run's process, load its last checkpoint and export it like a trained model."""
    import torch

    from studio.lab.build import build
    from studio.lab.spec import validate
    from studio.training.loop import CHECKPOINT

    spec = validate(json.loads((run_dir / SPEC).read_text()))
    lab = build(spec)
    payload = torch.load(run_dir / "run" / CHECKPOINT, map_location="cpu", weights_only=False)
    lab.process.load_state_dict(payload["process"])
    out = run_dir / "export"
    out.mkdir(exist_ok=True)
    return lab.process.export(out)["onnx"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--export", action="store_true", help="export the run's last checkpoint to ONNX")
    args = parser.parse_args(argv)
    try:
        os.nice(10)  # the app's own requests go first
    except OSError:
        pass
    import torch

    torch.set_num_threads(1)
    if args.export:
        print(export(args.run_dir))
        return 0
    from studio.lab.spec import LabInputError

    try:
        return train(args.run_dir)
    except LabInputError as exc:
        write_status(args.run_dir, "failed", f"The run could not start: {exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - any crash ends this run with a message, not the app
        traceback.print_exc()
        write_status(args.run_dir, "failed", f"The run crashed: {type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
