"""Every named endpoint, each argument replaced by bad values in turn (one without arguments called as it is): a
plain error or a result, never a hidden exception or a traceback, and the server keeps serving."""

from __future__ import annotations

import threading

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

pytestmark = pytest.mark.filterwarnings("ignore")

#: Values no control in the app would send. Numbers where text is expected and text where numbers are.
BAD_VALUES = (None, "abc", -1, 10**12, "x" * 5000)
#: Gradio's answer when a handler raised something other than gr.Error: the user learns nothing.
HIDDEN = "has not enabled verbose error reporting"


def endpoints(client: Client) -> dict[str, list[dict]]:
    return {name: info["parameters"]
            for name, info in client.view_api(print_info=False, return_format="dict")["named_endpoints"].items()}


def test_every_endpoint_answers_bad_values_with_a_plain_error(app_server):
    from concurrent.futures import ThreadPoolExecutor

    client = Client(app_server["url"], verbose=False, download_files=False)
    cases = []  # (api, parameter name, bad value, arguments)
    for api, params in endpoints(client).items():
        good = [p.get("parameter_default") for p in params]
        if not params:  # nothing to spoil (e.g. /eval_completion_pair_image): it still answers plainly, once
            cases.append((api, "", None, []))
        for i, param in enumerate(params):
            cases += [(api, param["parameter_name"], bad, [*good[:i], bad, *good[i + 1:]]) for bad in BAD_VALUES]

    local = threading.local()  # one client per worker, as each user has their own connection

    def problem(case: tuple) -> str | None:
        api, name, bad, args = case
        where = f"{api}({name}={repr(bad)[:20]})" if name else f"{api}()"
        if not hasattr(local, "client"):
            local.client = Client(app_server["url"], verbose=False, download_files=False)
        try:
            result = local.client.predict(*args, api_name=api)
            if api == "/lab_train":  # any previous-run id is fine, so this started a real run: end it
                local.client.predict(result[0], api_name="/lab_stop")
        except AppError as exc:
            message = str(exc)
            if HIDDEN in message or "Traceback" in message or not message.strip():
                return f"{where}: {message[:160]}"
        except Exception as exc:  # noqa: BLE001 - anything but a clean error answer is a finding
            return f"{where}: {type(exc).__name__}: {exc}"[:200]
        return None

    with ThreadPoolExecutor(4) as pool:  # four at a time, as a few users would; the queue allows it
        problems = [p for p in pool.map(problem, cases) if p]
    assert len(cases) > 300
    assert not problems, f"{len(problems)} of {len(cases)} calls gave no plain error:\n" + "\n".join(problems[:20])
    assert app_server["proc"].poll() is None, "the server died"
    assert client.predict(*[p.get("parameter_default") for p in endpoints(client)["/describe_left"]],
                          api_name="/describe_left")
