#!/usr/bin/env python
"""Votes under load, on SQLite and PostgreSQL, through gradio_client as real pages would send them.

    python scripts/bench/load_votes.py [--voters 50 --votes 20] [--engines sqlite postgresql] [--out docs/votes-load.md]

For each engine it launches the app on a fresh database and then
1. **concurrency**: ``--voters`` clients (each its own browser session) each cast ``--votes`` votes at once,
   alternating "Real or generated?" and "Which is better?"; the rows in the database must equal the votes
   acknowledged, with none lost or duplicated; it reports each vote call's latency;
2. **durability**: it starts the same load again and ``kill -9``s the app mid-way; every vote acknowledged
   before the kill must be in the database; then it restarts the app, which must serve the same counts.
PostgreSQL runs as a throwaway server (studio.humaneval.pgtemp; Debian's postgresql package).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import threading
import time

from studio import REPO_ROOT
from studio.atomic import atomic_write_text
from studio.humaneval.pgtemp import create_database, temporary_postgres
from studio.humaneval.store import VoteStore
from studio.local_server import free_port, launch_app

ROOT = REPO_ROOT


class Voter(threading.Thread):
    """One page: alternately answers an item and votes on a pair; records each acknowledged vote's ticket."""

    def __init__(self, url: str, votes: int, start: threading.Barrier, stop: threading.Event):
        super().__init__(daemon=True)
        self.url, self.votes, self.barrier, self.stop = url, votes, start, stop
        self.acknowledged: list[str] = []
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        from gradio_client import Client

        try:
            client = Client(self.url, verbose=False, download_files=False)
        except Exception as exc:  # noqa: BLE001 - reported
            self.errors.append(f"connect: {exc}")
            self.barrier.abort()
            return
        with contextlib.suppress(threading.BrokenBarrierError):
            self.barrier.wait()
        for k in range(self.votes):
            if self.stop.is_set():
                return
            try:
                if k % 2 == 0:
                    ticket = client.predict(api_name="/eval_item_image")[1]
                    t0 = time.perf_counter()
                    client.predict(ticket, "real" if k % 4 == 0 else "generated", api_name="/eval_answer")
                else:
                    ticket = client.predict(api_name="/eval_pair_image")[2]
                    t0 = time.perf_counter()
                    client.predict(ticket, ("left", "right", "tie")[k % 3], api_name="/eval_vote")
                self.latencies.append(1000 * (time.perf_counter() - t0))
                self.acknowledged.append(ticket)
            except Exception as exc:  # noqa: BLE001 - counted; after a kill every call fails
                self.errors.append(str(exc)[:200])
                if self.stop.is_set():
                    return


def stored_tickets(url: str) -> list[str]:
    import sqlalchemy as sa

    store = VoteStore.open(url)
    with store.engine.connect() as conn:
        rows = [r[0] for r in conn.execute(sa.text("SELECT ticket FROM judgements UNION ALL "
                                                   "SELECT ticket FROM comparisons"))]
    store.engine.dispose()
    return rows


def transaction_ms(db_url: str, count: int = 200) -> float:
    """Median milliseconds of one vote's database work alone (redeem the ticket, store the vote), no app."""
    store = VoteStore.open(db_url)
    times = []
    for k in range(count):
        ticket = store.issue(f"bench-{k // 50}", "judge", "image", {"source": "real"})
        t0 = time.perf_counter()
        store.judge(ticket, f"bench-{k // 50}", True)
        times.append(1000 * (time.perf_counter() - t0))
    store.engine.dispose()
    return statistics.median(times)


def run_load(app_url: str, voters: int, votes: int, stop: threading.Event) -> list[Voter]:
    barrier = threading.Barrier(voters)
    crowd = [Voter(app_url, votes, barrier, stop) for _ in range(voters)]
    for v in crowd:
        v.start()
    return crowd


def concurrency(db_url: str, env: dict[str, str], voters: int, votes: int) -> str:
    proc, app_url = launch_app(free_port(), env)
    try:
        started = time.perf_counter()
        crowd = run_load(app_url, voters, votes, threading.Event())
        for v in crowd:
            v.join()
        wall = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    acknowledged = [t for v in crowd for t in v.acknowledged]
    stored = stored_tickets(db_url)
    errors = [e for v in crowd for e in v.errors]
    lat = sorted(x for v in crowd for x in v.latencies)
    lost = len(set(acknowledged) - set(stored))
    duplicated = len(stored) - len(set(stored))
    verdict = "PASS" if not lost and not duplicated and len(stored) == len(acknowledged) == voters * votes \
        else "FAIL"
    return (f"{voters} × {votes} | {len(acknowledged):,} | {len(stored):,} | {lost} | {duplicated} | {len(errors)} | "
            f"{statistics.median(lat):.0f} | {lat[int(0.95 * (len(lat) - 1))]:.0f} | {wall:.0f} s | **{verdict}**")


def durability(db_url: str, env: dict[str, str], voters: int, votes: int, earlier: int = 0) -> str:
    """``earlier``: rows already in the database (PostgreSQL reuses the concurrency run's)."""
    proc, app_url = launch_app(free_port(), env)
    stop = threading.Event()
    crowd = run_load(app_url, voters, votes, stop)
    deadline = time.monotonic() + 120
    while sum(len(v.acknowledged) for v in crowd) < voters * votes // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # mid-load, no chance to flush or close anything
    proc.wait()
    stop.set()
    for v in crowd:
        v.join(timeout=60)
    acknowledged = {t for v in crowd for t in v.acknowledged}
    stored = stored_tickets(db_url)
    missing = len(acknowledged - set(stored))
    proc, app_url = launch_app(free_port(), env)  # the app starts again on the same database
    try:
        from gradio_client import Client

        reading = Client(app_url, verbose=False).predict(api_name="/eval_board_image")[1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    after = len(stored_tickets(db_url))
    serves = "serves them" if "pairwise votes" in reading else "did NOT serve the board"
    verdict = "PASS" if not missing and after == len(stored) and "pairwise votes" in reading else "FAIL"
    with_earlier = f" (with the {earlier:,} of the concurrency run)" if earlier else ""
    return (f"killed after {len(acknowledged):,} acknowledged votes | {len(stored):,}{with_earlier} | {missing} | "
            f"restarted app {serves} ({after:,} votes) | **{verdict}**")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voters", type=int, default=50)
    parser.add_argument("--votes", type=int, default=20, help="votes per voter")
    parser.add_argument("--engines", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--out", help="also write the tables to this Markdown file")
    args = parser.parse_args()
    load_rows, kill_rows, alone_rows = [], [], []
    for engine in args.engines:
        with contextlib.ExitStack() as stack:
            if engine == "sqlite":
                folder = stack.enter_context(tempfile.TemporaryDirectory())
                db_url = f"sqlite:///{folder}/votes.db"
                env = {"STUDIO_DATA_DIR": folder, "STUDIO_DB_URL": ""}
                kill_url, kill_env = f"sqlite:///{folder}/kill/votes.db", {"STUDIO_DATA_DIR": f"{folder}/kill",
                                                                          "STUDIO_DB_URL": ""}
            else:
                server = stack.enter_context(temporary_postgres())
                db_url, env = server, {"STUDIO_DB_URL": server}
                kill_url, kill_env = db_url, env
            print(f"== {engine}: {args.voters} voters × {args.votes} votes", flush=True)
            alone = transaction_ms(f"sqlite:///{folder}/alone.db" if engine == "sqlite"
                                   else create_database(db_url, "alone"))
            alone_rows.append(f"| {engine} | {alone:.1f} ms |")
            load_rows.append(f"| {engine} | " + concurrency(db_url, env, args.voters, args.votes) + " |")
            print(load_rows[-1], flush=True)
            before = len(stored_tickets(kill_url)) if engine == "postgresql" else 0
            row = durability(kill_url, kill_env, args.voters, args.votes, before)
            kill_rows.append(f"| {engine} | {row} |")
            print(kill_rows[-1], flush=True)
    text = "\n".join([
        f"# `python scripts/bench/load_votes.py` ({os.cpu_count()} CPU cores; app and voters on one machine)", "",
        "Concurrency: every voter is its own gradio_client session; latency is the vote call alone (the item was "
        "drawn just before).", "",
        "| engine | voters × votes | acknowledged | rows stored | lost | duplicated | errors | p50 ms | p95 ms | "
        "wall | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|", *load_rows, "",
        "One vote's database work alone (redeem the ticket, store the vote; 200 in a row, no app), median:", "",
        "| engine | per vote |", "|---|---|", *alone_rows, "",
        "Durability: the same load, the app killed with `kill -9` a third of the way through, then started again.",
        "",
        "| engine | at the kill | rows stored | acknowledged but missing | after restart | result |",
        "|---|---|---|---|---|---|", *kill_rows, ""])
    print(text)
    if args.out:
        atomic_write_text(args.out, text)
    return 0 if "FAIL" not in text else 1


if __name__ == "__main__":
    sys.exit(main())
