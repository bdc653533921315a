"""README's Quick start commands, as printed: read them, and run the app one until its page answers.

    python3 scripts/run_readme_commands.py          # run the first (app) command until the page answers
    python3 scripts/run_readme_commands.py --print  # only show the two commands found

The app command ends in a server that never exits: it counts as passed once the page answers, and is then
stopped. The test command `.ci/run` writes out itself, and tests/scripts/test_cli.py checks it is README's
line. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _local_server():  # noqa: ANN202 - a module
    """studio/local_server.py, loaded from its file: this runs before anything, the studio package included, is
    installed (that module needs only the standard library)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("studio_local_server", ROOT / "studio" / "local_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

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


def run_until_served(command: str, url: str, timeout_s: float) -> None:
    """Start ``command`` in its own process group; return once ``url`` answers, then stop the group."""
    print(f"$ {command}", flush=True)
    process = subprocess.Popen(["bash", "-c", command], cwd=ROOT, start_new_session=True)
    try:
        seconds = _local_server().wait_for_http(url, process, timeout=timeout_s)
        print(f"== {url} answered after {seconds:.0f} s (set-up included); stopping the app", flush=True)
    except (RuntimeError, TimeoutError) as exc:
        raise SystemExit(f"README's app command failed: {exc}") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run README's app command as printed, until its page answers")
    parser.add_argument("--print", action="store_true", help="only print the two commands found (default: run)")
    parser.add_argument("--app-timeout", type=float, default=1200,
                        help="seconds the app command may take to serve its page, set-up included")
    args = parser.parse_args()
    app, tests = quick_start_commands((ROOT / "README.md").read_text())
    if args.print:
        print(app, tests, sep="\n")
        return 0
    run_until_served(app, APP_URL, args.app_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
