#!/usr/bin/env python
"""Two app replicas, one PostgreSQL: votes split across both are stored once each, and both serve the same
leaderboard.

    python scripts/bench/two_replicas.py                          # 20 voters x 10 votes (about 1 min)
    python scripts/bench/two_replicas.py --voters 4 --votes 4     # the suite's small version
    python scripts/bench/two_replicas.py --out docs/replicas.md

It starts a throwaway PostgreSQL server (studio.humaneval.pgtemp), launches `python app.py` twice on two
ports with the same STUDIO_DB_URL (the replicas run the migrations together; an advisory lock makes them
take turns), sends half the voters to each, each voter its own gradio_client session alternating "Real or
generated?" and "Which is better?", then checks that every acknowledged vote is stored exactly once and that
both replicas return the same leaderboard for every modality. Exit status 1 if not.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from load_votes import Voter, stored_tickets

from studio import REPO_ROOT
from studio.atomic import atomic_write_text
from studio.humaneval.pgtemp import create_database, temporary_postgres
from studio.local_server import free_port, launch_app

ROOT = REPO_ROOT

MODALITIES = ("image", "text", "music")


def leaderboards(url: str) -> dict[str, tuple[list, str]]:
    """Each modality's leaderboard as a replica serves it (/eval_board_*): (table rows, the text under it,
    which counts the votes)."""
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    boards = {}
    for name in MODALITIES:
        table, reading, _ = client.predict(api_name=f"/eval_board_{name}")
        boards[name] = (table["data"] if isinstance(table, dict) else table, reading)
    return boards


def counted(reading: str) -> int:
    """The votes a leaderboard's text counts: its pairwise votes plus its real-or-generated answers."""
    import re

    numbers = re.match(r"\*\*([\d,]+)\*\* pairwise votes and \*\*([\d,]+)\*\* real-or-generated", reading)
    return sum(int(n.replace(",", "")) for n in numbers.groups()) if numbers else -1


def run(voters: int, votes: int) -> tuple[bool, str]:
    """(passed, a Markdown report)."""
    with temporary_postgres() as server:
        db_url = create_database(server, "replicas")
        env = {"STUDIO_DB_URL": db_url}
        started = {}

        def launch(name: str) -> None:
            started[name] = launch_app(free_port(), env)

        threads = [threading.Thread(target=launch, args=(n,)) for n in ("A", "B")]  # they migrate together
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if len(started) != 2:
            raise SystemExit("error: a replica did not start (see the messages above)")
        try:
            urls = {name: url for name, (_, url) in started.items()}
            barrier, stop = threading.Barrier(voters), threading.Event()
            crowd = [Voter(urls["AB"[i % 2]], votes, barrier, stop) for i in range(voters)]
            t0 = time.perf_counter()
            for v in crowd:
                v.start()
            for v in crowd:
                v.join()
            wall = time.perf_counter() - t0
            boards = {name: leaderboards(url) for name, url in urls.items()}
        finally:
            for proc, _ in started.values():
                proc.terminate()
                proc.wait(timeout=30)
        stored = stored_tickets(db_url)
    acknowledged = [t for v in crowd for t in v.acknowledged]
    per_replica = {name: sum(len(v.acknowledged) for i, v in enumerate(crowd) if "AB"[i % 2] == name)
                   for name in "AB"}
    errors = [e for v in crowd for e in v.errors]
    lost = len(set(acknowledged) - set(stored))
    duplicated = len(stored) - len(set(stored))
    same_boards = boards["A"] == boards["B"]
    on_board = counted(boards["A"]["image"][1])  # every vote is image votes here
    passed = (not errors and not lost and not duplicated and same_boards
              and len(stored) == len(acknowledged) == on_board == voters * votes)
    report = "\n".join([
        f"`python scripts/bench/two_replicas.py --voters {voters} --votes {votes}`: two `python app.py` processes on "
        "two "
        "ports, one PostgreSQL 15 database (a throwaway server), voters split evenly between them.", "",
        "| voters × votes | acknowledged (A / B) | rows stored | lost | duplicated | errors | votes on the "
        "leaderboard | same leaderboard on both | wall | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {voters} × {votes} | {len(acknowledged):,} ({per_replica['A']:,} / {per_replica['B']:,}) | "
        f"{len(stored):,} | {lost} | {duplicated} | {len(errors)} | {on_board:,} | "
        f"{'yes, all ' + str(len(MODALITIES)) + ' modalities' if same_boards else 'NO'} | {wall:.0f} s | "
        f"**{'PASS' if passed else 'FAIL'}** |",
    ])
    if errors:
        report += "\n\nFirst errors: " + "; ".join(errors[:3])
    return passed, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voters", type=int, default=20, help="voters in all, half on each replica")
    parser.add_argument("--votes", type=int, default=10, help="votes per voter")
    parser.add_argument("--out", type=Path, help="also write the report here (Markdown)")
    args = parser.parse_args()
    passed, report = run(args.voters, args.votes)
    print(report)
    if args.out:
        atomic_write_text(args.out, f"# Two replicas, one PostgreSQL\n\n{report}\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
