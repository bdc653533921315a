"""Two app replicas against one PostgreSQL database: votes split across both are stored once each, and both
serve the same leaderboard (scripts/bench/two_replicas.py, small)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from studio.humaneval.pgtemp import PostgresMissing, server_bin
from tests.conftest import ROOT


def _postgres_installed() -> bool:
    try:
        server_bin()
        return True
    except PostgresMissing:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _postgres_installed(), reason="PostgreSQL is not installed (bash scripts/setup.sh)")
def test_two_replicas_store_every_vote_once_and_agree_on_the_leaderboard():
    done = subprocess.run([sys.executable, "scripts/bench/two_replicas.py", "--voters", "4", "--votes", "4"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("| 4 × 4 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # acknowledged (A / B), rows stored, lost, duplicated, errors, votes on the leaderboard, same leaderboard
    assert cells[1] == "16 (8 / 8)" and cells[2] == "16" and cells[3:6] == ["0", "0", "0"], row
    assert cells[6] == "16" and cells[7].startswith("yes") and cells[-1] == "**PASS**", row
