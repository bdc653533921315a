"""A vote store on each engine: SQLite in a temporary folder, and PostgreSQL in a throwaway cluster (one server
for the session, a new database per test)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from studio.humaneval.pgtemp import temporary_postgres


@pytest.fixture(scope="session")
def postgres_server():
    with temporary_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'votes.db'}"
    server = request.getfixturevalue("postgres_server")
    name = f"t{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"
