"""The Lab through gradio_client: a run streams updates, stops on Stop and stops at its time limit."""

from __future__ import annotations

import time

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from studio.lab.tab import API_KNOB_ORDER, FIRST_LATER

pytestmark = pytest.mark.filterwarnings("ignore")
STARTUP_S = 40


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server["url"], verbose=False, download_files=False)


def train(client: Client, data: str = "ring", family: str = "gan", seconds: float = 60, steps: int | None = None,
          **changes) -> str:
    """/lab_train with its parameters in the published order; without ``steps``, as a client written before the
    steps and the later knobs existed calls it (they take their defaults)."""
    knobs = [changes.get(knob.key, knob.default) for _, knob in API_KNOB_ORDER]
    later = [] if steps is None else [steps, *knobs[FIRST_LATER:]]
    return client.predict("", data, family, 0, seconds, *knobs[:FIRST_LATER], *later, api_name="/lab_train")[0]


def raw(client: Client, run_id: str) -> dict:
    return client.predict(run_id, api_name="/lab_poll")[6]


def wait_for(client: Client, run_id: str, done, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = raw(client, run_id)
        if done(data):
            return data
        time.sleep(0.3)
    raise AssertionError(f"timed out; last: {raw(client, run_id)}")


def test_a_run_streams_updates_and_ends_on_stop(client):
    run_id = train(client)
    first = wait_for(client, run_id, lambda d: d["step"] > 0, STARTUP_S)
    later = wait_for(client, run_id, lambda d: d["step"] > first["step"], 10)
    assert later["readout"]["modes"] == 8
    client.predict(run_id, api_name="/lab_stop")
    assert wait_for(client, run_id, lambda d: d["state"] != "running", 15)["state"] == "stopped"


def test_a_run_ends_at_its_time_limit_and_says_so(client):
    run_id = train(client, data="moons", family="flow", seconds=5, steps=20_000)
    wait_for(client, run_id, lambda d: d["state"] == "running", STARTUP_S)
    started = time.monotonic()
    done = wait_for(client, run_id, lambda d: d["state"] not in ("queued", "running"), 20)
    assert done["state"] == "finished" and time.monotonic() - started < 20
    assert "time limit ended the run at step" in done["message"] and "of 20,000" in done["message"]
    assert "steps/s" in done["message"]


def test_a_run_ends_after_its_steps(client):
    run_id = train(client, data="ring", family="vae", steps=150, seconds=90)
    done = wait_for(client, run_id, lambda d: d["state"] not in ("queued", "running"), STARTUP_S + 30)
    assert done["state"] == "finished" and done["step"] == 150 and done["message"].startswith("150 of 150 steps")


def test_out_of_range_knobs_get_a_plain_error(client):
    with pytest.raises(AppError, match="Critic learning rate must be from 1e-06 to 1; got 3"):
        train(client, lr_d=3)
