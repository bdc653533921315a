"""A throwaway PostgreSQL server in a temporary folder (``initdb`` + ``pg_ctl``), for tests and the vote load
benchmark: ``with temporary_postgres() as url: ...``. Needs Debian's ``postgresql`` package (scripts/setup.sh
installs it). PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user that
the package creates."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


class PostgresMissing(RuntimeError):
    """PostgreSQL's server programs are not installed."""


def server_bin() -> Path:
    """The folder holding initdb and pg_ctl (Debian keeps them off PATH, under /usr/lib/postgresql/N/bin)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not versions:
        raise PostgresMissing("PostgreSQL's server is not installed: run `sudo apt-get install -y postgresql` "
                              "(scripts/setup.sh does).")
    return Path(versions[-1]).parent


#: Where Debian keeps system tools; a non-login root shell's PATH may lack them (runuser is in /usr/sbin).
SYSTEM_BIN_DIRS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")


def system_tool(name: str) -> str:
    """The absolute path of system tool ``name``: found on PATH, else in the system folders."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(SYSTEM_BIN_DIRS))
    if not found:
        raise PostgresMissing(f"`{name}` was not found on PATH nor in {', '.join(SYSTEM_BIN_DIRS)}; as root the "
                              f"throwaway server runs as the postgres user through it (Debian's util-linux has it).")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def temporary_postgres() -> Iterator[str]:
    """Start a server on a free local port; yield its SQLAlchemy URL; stop it and delete its files."""
    bin_dir = server_bin()
    as_root = os.geteuid() == 0
    prefix = [system_tool("runuser"), "-u", "postgres", "--"] if as_root else []
    folder = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    data = folder / "data"
    port = _free_port()
    if as_root:
        shutil.chown(folder, "postgres", "postgres")
    log = folder / "server.log"

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A new, empty database ``name`` on the server at ``server_url``; returns its URL."""
    import sqlalchemy as sa

    if not name.isidentifier():
        raise ValueError(f"a database name is letters, digits and _; got {name!r}")
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
