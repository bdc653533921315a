"""The app's side of the Lab: a queue of runs, a few worker processes at a time, each with a hard time cap.

Every run gets its own folder under a temporary root (never under trained/). A scheduler thread starts
queued runs while slots are free, and kills a worker that outlives its time limit by ``GRACE_S`` (the
worker normally ends itself at the limit, with a checkpoint). Run folders are removed ``KEEP_S`` after
they end, and all of them when the app exits.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio import REPO_ROOT
from studio.lab import worker
from studio.lab.spec import validate
from studio.lab.view import read_frame, run_log

REPO = REPO_ROOT
GRACE_S = 20.0
STARTUP_ALLOWANCE_S = 120.0  # importing torch and building a run, on a busy machine
KEEP_S = 30 * 60.0
MAX_QUEUED = 8
EXPORT_TIMEOUT_S = 120


def default_slots() -> int:
    """Runs training at once: STUDIO_LAB_RUNS, else one per two cores (a core stays free for the app)."""
    env = os.environ.get("STUDIO_LAB_RUNS")
    return max(1, int(env)) if env and env.isdigit() else max(1, (os.cpu_count() or 2) // 2)


class LabBusy(RuntimeError):
    """The queue is full; the message says to try again shortly."""


@dataclass
class _Run:
    run_id: str
    folder: Path
    spec: dict[str, Any]
    proc: subprocess.Popen | None = None
    started: float | None = None
    ended: float | None = None
    log: Any = None


class LabRuns:
    def __init__(self, slots: int | None = None, root: str | Path | None = None):
        self.slots = slots or default_slots()
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="studio-lab-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self._runs: dict[str, _Run] = {}
        self._queue: list[str] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._schedule_forever, daemon=True, name="lab-scheduler")
        self._thread.start()
        atexit.register(self.close)
        self._close_on_sigterm()

    def _close_on_sigterm(self) -> None:
        """``atexit`` does not run when the app is ended by SIGTERM: stop the workers and remove the runs
        then too, and hand the signal on to whoever handled it before."""
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)

        def handler(signum: int, frame: Any) -> None:
            self.close()
            if callable(previous):
                previous(signum, frame)
            else:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, handler)

    # -- the public API ------------------------------------------------------------------------
    def submit(self, spec: dict[str, Any]) -> str:
        """Queue a run of ``spec`` (checked first: a bad knob raises LabInputError); returns its id."""
        spec = validate(spec)
        with self._lock:
            if len(self._queue) >= MAX_QUEUED:
                raise LabBusy(f"The Lab's queue is full ({MAX_QUEUED} runs waiting); try again in a minute.")
            run_id = uuid.uuid4().hex[:12]
            folder = self.root / run_id
            folder.mkdir()
            (folder / worker.SPEC).write_text(json.dumps(spec))
            worker.write_status(folder, "queued")
            self._runs[run_id] = _Run(run_id, folder, spec)
            self._queue.append(run_id)
        self._tick()
        return run_id

    def stop(self, run_id: str) -> None:
        """Ask a run to end (it checkpoints and stops within a step); a queued run is dropped."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return
            if run_id in self._queue:
                self._queue.remove(run_id)
                run.ended = time.monotonic()
                worker.write_status(run.folder, "stopped", "stopped before it started")
                return
        try:
            (run.folder / worker.STOP).touch()
        except FileNotFoundError:  # the run ended and its folder was removed meanwhile
            pass

    def view(self, run_id: str) -> dict[str, Any]:
        """Everything the app shows of a run: status (with queue position), frame, log records, spec."""
        with self._lock:
            run = self._runs.get(run_id)
            position = self._queue.index(run_id) + 1 if run_id in self._queue else 0
        if run is None:
            return {"status": {"state": "unknown", "message": "This run is no longer kept; start a new one."}}
        status = worker.read_status(run.folder) or {"state": "running", "message": ""}
        if position:
            status = {"state": "queued", "message": f"waiting: number {position} in the queue", "position": position}
        return {"status": status, "frame": read_frame(run.folder), "log": run_log(run.folder),
                "spec": run.spec, "seconds_left": self._seconds_left(run)}

    def export(self, run_id: str) -> Path:
        """The run's last checkpoint exported through the project's export path; raises RuntimeError with
        the reason if there is nothing to export or the export fails."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is None:
            raise RuntimeError("This run is no longer kept; train again, then save.")
        if run.proc is not None and run.proc.poll() is None:
            raise RuntimeError("The run is still training; stop it or wait for it to finish, then save.")
        if not (run.folder / "run" / "checkpoint.pt").exists():
            raise RuntimeError("This run has no checkpoint yet; it never started training.")
        out = run.folder / "export" / "generator.onnx"
        if not out.exists():
            try:
                done = subprocess.run([sys.executable, "-m", "studio.lab.worker", "--export", str(run.folder)],
                                      cwd=REPO, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"The export took over {EXPORT_TIMEOUT_S} s and was stopped; the machine is "
                                   "busy, try again in a minute.") from None
            if done.returncode != 0 or not out.exists():
                raise RuntimeError("The export failed: " + (done.stderr.strip().splitlines() or ["no output"])[-1])
        return out

    def close(self) -> None:
        with self._lock:
            self._closed = True
            runs = list(self._runs.values())
        for run in runs:
            if run.proc is not None and run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- scheduling ----------------------------------------------------------------------------
    def _seconds_left(self, run: _Run) -> float | None:
        """Training time left, from the deadline the worker wrote when its loop started."""
        if run.started is None or run.ended is not None:
            return None
        deadline = (worker.read_status(run.folder) or {}).get("deadline")
        return None if deadline is None else max(0.0, deadline - time.time())

    def _overdue(self, run: _Run, now: float) -> bool:
        """Past the worker's own deadline by GRACE_S, or still not training STARTUP_ALLOWANCE_S after launch."""
        deadline = (worker.read_status(run.folder) or {}).get("deadline")
        if deadline is not None:
            return time.time() > deadline + GRACE_S
        return now - run.started > STARTUP_ALLOWANCE_S + run.spec["seconds"] + GRACE_S

    def _schedule_forever(self) -> None:
        while not self._closed:
            self._tick()
            time.sleep(0.2)

    def _tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            if self._closed:
                return
            for run in self._runs.values():
                if run.proc is None or run.ended is not None:
                    continue
                code = run.proc.poll()
                if code is None and self._overdue(run, now):
                    run.proc.kill()  # a worker that ignores its limit
                    run.proc.wait()
                    code = run.proc.returncode
                    worker.write_status(run.folder, "failed", "The run did not stop at its time limit and was ended.")
                if code is not None:
                    run.ended = now
                    run.log.close()
                    status = worker.read_status(run.folder) or {}
                    if status.get("state") in (None, "queued", "running"):  # died without a word: killed or OOM
                        worker.write_status(run.folder, "failed",
                                            f"The training process ended unexpectedly (exit code {code}).")
            running = sum(1 for r in self._runs.values() if r.proc is not None and r.ended is None)
            while self._queue and running < self.slots:
                run = self._runs[self._queue.pop(0)]
                run.log = open(run.folder / "worker.log", "w")
                run.proc = subprocess.Popen([sys.executable, "-m", "studio.lab.worker", str(run.folder)], cwd=REPO,
                                            stdout=run.log, stderr=subprocess.STDOUT)
                run.started = now
                running += 1
            for run_id in [r.run_id for r in self._runs.values() if r.ended and now - r.ended > KEEP_S]:
                shutil.rmtree(self._runs.pop(run_id).folder, ignore_errors=True)

