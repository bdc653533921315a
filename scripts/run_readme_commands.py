"""Run the README's two Quick start commands exactly as printed (CI does this on a fresh machine).

    python3 scripts/run_readme_commands.py            # both: the app until it serves its page, then the tests
    python3 scripts/run_readme_commands.py --print    # only show the commands found

The first command ends in a server that never exits: it counts as passed once the page answers, and is
then stopped. The second command's exit status is this script's. Standard library only: it runs before
anything is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_URL = "http://127.0.0.1:7860/"


def quick_start_commands(readme: str) -> list[str]:
    """The non-comment lines of the first ```bash block under '## Quick start'."""
    section = readme.split("## Quick start", 1)
    if len(section) < 2:
        raise SystemExit("README.md has no '## Quick start' section")
    block = re.search(r"```bash\n(.*?)```", section[1], re.S)
    if not block:
        raise SystemExit("README.md's Quick start has no ```bash block")
    commands = [line.strip() for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    if len(commands) != 2:
        raise SystemExit(f"README.md's Quick start should print two commands, found {len(commands)}: {commands}")
    return commands


def page_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def run_until_served(command: str, url: str, timeout_s: float) -> None:
    """Start ``command`` in its own process group; return once ``url`` answers, then stop the group."""
    print(f"$ {command}", flush=True)
    process = subprocess.Popen(["bash", "-c", command], cwd=ROOT, start_new_session=True)
    start = time.monotonic()
    try:
        while not page_answers(url):
            if process.poll() is not None:
                raise SystemExit(f"the app command exited with status {process.returncode} before serving {url}")
            if time.monotonic() - start > timeout_s:
                raise SystemExit(f"the app command did not serve {url} within {timeout_s:.0f} s")
            time.sleep(1)
        print(f"== {url} answered after {time.monotonic() - start:.0f} s (set-up included); stopping the app",
              flush=True)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the README's two Quick start commands as printed")
    parser.add_argument("--print", action="store_true", help="only print the commands found (default: run them)")
    parser.add_argument("--app-timeout", type=float, default=1200,
                        help="seconds the first command may take to serve its page, set-up included")
    args = parser.parse_args()
    app, tests = quick_start_commands((ROOT / "README.md").read_text())
    if args.print:
        print(app, tests, sep="\n")
        return 0
    run_until_served(app, APP_URL, args.app_timeout)
    print(f"$ {tests}", flush=True)
    return subprocess.run(["bash", "-c", tests], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
