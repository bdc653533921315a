"""A small class at once (scripts/bench/load_test.py, scaled down): identical requests, distinct ones, every tab."""

from __future__ import annotations

import pytest

from scripts.bench.load_test import run_mix

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize("mix,clients,per_client", [("identical", 12, 4), ("tabs", 6, 3)])
def test_concurrent_clients_get_no_errors(app_server, mix, clients, per_client):
    # "identical" is the case that used to fail: byte-identical concurrent results (see studio/ui/results.py).
    result = run_mix(app_server["url"], mix, clients, per_client)
    assert result.requests == clients * per_client
    assert not result.errors, f"{len(result.errors)} of {result.requests} failed: {result.errors[:3]}"
    assert app_server["proc"].poll() is None
