"""The app's run queue: queue positions, Stop before and during a run, and a worker that dies."""

from __future__ import annotations

import os
import signal
import time

import pytest

from studio.lab.runs import LabRuns

STARTUP_S = 30


def wait_for(runs: LabRuns, run_id: str, states: tuple[str, ...], timeout: float = STARTUP_S) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = runs.view(run_id)
        if view["status"]["state"] in states:
            return view
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} never reached {states}: {runs.view(run_id)['status']}")


@pytest.fixture
def runs(tmp_path):
    lab = LabRuns(slots=1, root=tmp_path / "lab")
    yield lab
    lab.close()


def test_a_second_run_waits_in_the_queue_and_stop_drops_it(runs):
    first = runs.submit({"data": "ring", "family": "flow", "seconds": 60})
    second = runs.submit({"data": "ring", "family": "gan", "seconds": 60})
    view = runs.view(second)
    assert view["status"]["state"] == "queued" and view["status"]["position"] == 1
    assert "number 1 in the queue" in view["status"]["message"]
    runs.stop(second)
    assert runs.view(second)["status"]["state"] == "stopped"
    wait_for(runs, first, ("running",))
    runs.stop(first)
    assert wait_for(runs, first, ("stopped",))["status"]["state"] == "stopped"


def test_a_killed_worker_ends_its_run_with_a_message(runs):
    doomed = runs.submit({"data": "moons", "family": "flow", "seconds": 60})
    wait_for(runs, doomed, ("running",))
    with pytest.raises(RuntimeError, match="still training"):
        runs.export(doomed)
    os.kill(runs._runs[doomed].proc.pid, signal.SIGKILL)
    view = wait_for(runs, doomed, ("failed",), timeout=10)
    assert "ended unexpectedly" in view["status"]["message"]
