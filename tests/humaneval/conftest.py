"""A vote store on each engine: SQLite in a temporary folder, and PostgreSQL in a throwaway cluster (one server
for the session, a new database per test)."""

from __future__ import annotations

import uuid

import pytest

from studio.humaneval.pgtemp import create_database, temporary_postgres


@pytest.fixture(scope="session")
def postgres_server():
    with temporary_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'votes.db'}"
    return create_database(request.getfixturevalue("postgres_server"), f"t{uuid.uuid4().hex[:12]}")
