"""Helpers for local processes: wait for a launched server (the app tests, scripts/bench/bench_app.py), and hold a
process to a share of the CPU with a cgroup quota, how scripts stand in for a slower host (a cgroup of its own
per process, cgroup v2's ``cpu.max`` or v1's ``cpu.cfs_quota_us``; a share of 0.33 is a third of one core's
time, 0.67 two thirds spread over any cores; needs root)."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_app(port: int, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """``python app.py`` from the checkout on ``port`` (with ``env`` added to the environment), waited for until
    its page answers: (the process, its URL). Exits with the reason if it never answers."""
    import os
    import sys

    from studio import REPO_ROOT

    proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "app.py"), "--port", str(port)], cwd=REPO_ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, proc, timeout=300)
    except (RuntimeError, TimeoutError) as exc:
        proc.kill()
        raise SystemExit(str(exc)) from None
    return proc, url


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> float:
    """Seconds until ``url`` answers 200; raises if the process exits or time runs out."""
    start = time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.time() - start
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"the app did not answer at {url} within {timeout}s")

CGROUP_V2, CGROUP_V1_CPU = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000


class QuotaUnavailable(RuntimeError):
    """No cgroup CPU controller can be written here."""


def cpu_limited(pid: int, share: float) -> Path:
    """Move process ``pid`` (its threads, and the children it starts later) into a new cgroup allowed ``share``
    of one core's time; returns the cgroup, to remove with ``release`` once the process has ended."""
    quota = max(1_000, int(share * PERIOD_US))
    try:
        if (CGROUP_V2 / "cgroup.controllers").exists():
            group = CGROUP_V2 / f"studio-quota-{pid}"
            group.mkdir()
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        elif (CGROUP_V1_CPU / "cpu.cfs_quota_us").exists():
            group = CGROUP_V1_CPU / f"studio-quota-{pid}"
            group.mkdir()
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            raise QuotaUnavailable("no cgroup CPU controller under /sys/fs/cgroup")
        (group / "cgroup.procs").write_text(str(pid))
    except OSError as exc:
        raise QuotaUnavailable(f"could not set a CPU quota ({exc}); run as root on a machine with cgroups") from exc
    return group


def release(group: Path) -> None:
    """Remove a cgroup made by ``cpu_limited`` (its process must have ended)."""
    try:
        group.rmdir()
    except OSError:
        pass
