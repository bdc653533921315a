"""Where votes live: SQLAlchemy Core over SQLite (the default, in WAL mode) or PostgreSQL (``STUDIO_DB_URL``),
with the schema brought up to date by Alembic migrations on open.

A vote is accepted only with a ticket: an opaque, random, single-use id that the server issued to the same
browser session for the item or pair it showed, unexpired. Using a ticket and storing its vote are one
transaction, and the ticket column of each vote table is unique, so a vote is stored once or not at all,
whichever replica receives it. Nothing personal is kept: the session id is stored only as a hash, and no
address or user agent is ever read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from studio import REPO_ROOT

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
TICKET_TTL_S = 10 * 60  # an item left open longer than this must be drawn again
MAX_TICKETS_PER_MINUTE = 60  # per session: a person reads, listens and answers; a script is slowed down
OUTCOMES = ("left", "right", "tie")
#: What a pairwise vote compares: two models' samples ("Which is better?") or two models' completions of one
#: picture and region ("Which completion is better?"). Each question has its own rating: like with like.
SAMPLES, COMPLETION = "samples", "completion"
QUESTIONS = (SAMPLES, COMPLETION)
#: The CSV's name for each pairwise question (its "question" column).
CSV_QUESTION = {SAMPLES: "which_is_better", COMPLETION: "which_completion_is_better"}

metadata = sa.MetaData()
tickets = sa.Table(
    "tickets", metadata,
    sa.Column("id", sa.String(64), primary_key=True), sa.Column("session", sa.String(64)),
    sa.Column("kind", sa.String(16)), sa.Column("modality", sa.String(16)), sa.Column("item", sa.Text),
    sa.Column("issued_at", sa.Float), sa.Column("used_at", sa.Float))
judgements = sa.Table(
    "judgements", metadata,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("ticket", sa.String(64)),
    sa.Column("modality", sa.String(16)), sa.Column("source", sa.String(64)), sa.Column("said_real", sa.Boolean),
    sa.Column("created_at", sa.Float))
comparisons = sa.Table(
    "comparisons", metadata,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("ticket", sa.String(64)),
    sa.Column("modality", sa.String(16)), sa.Column("left_model", sa.String(64)),
    sa.Column("right_model", sa.String(64)), sa.Column("outcome", sa.String(8)), sa.Column("created_at", sa.Float),
    sa.Column("question", sa.String(16)))


class StoreUnavailable(RuntimeError):
    """The database cannot be opened or brought up to date; the message says why and what to do."""


class VoteRefused(ValueError):
    """A vote that is not stored (forged, replayed or expired ticket; a bad answer); the message is for the
    visitor."""


class RateLimited(VoteRefused):
    """A session asked for items faster than a person can look at them."""


def data_dir() -> Path:
    """Where the SQLite file goes: ``STUDIO_DATA_DIR``, else ``/data`` when it exists (a Hugging Face Space's
    persistent storage), else ``data/`` in the project folder."""
    if os.environ.get("STUDIO_DATA_DIR"):
        return Path(os.environ["STUDIO_DATA_DIR"])
    if Path("/data").is_dir() and os.access("/data", os.W_OK):
        return Path("/data")
    return REPO_ROOT / "data"


def database_url() -> str:
    """``STUDIO_DB_URL`` (e.g. ``postgresql://user:pass@host/db``), else SQLite at ``data_dir()/votes.db``."""
    url = os.environ.get("STUDIO_DB_URL", "").strip()
    if not url:
        return f"sqlite:///{data_dir() / 'votes.db'}"
    if url.startswith(("postgresql://", "postgres://")):  # the psycopg 3 driver, the one requirements.txt installs
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged vote survives a crash of the app or the machine
    cursor.execute("PRAGMA busy_timeout=10000")  # writers queue for up to 10 s instead of failing at once
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 10, "check_same_thread": False}, pool_size=8,
                                  max_overflow=8)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``, the newest by default (a no-op when it is there). On PostgreSQL an
    advisory lock makes replicas that start together take turns."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(747100)"))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def session_key(session_id: str) -> str:
    """What is stored of a browser session: a hash, enough to match a vote to the page its item was shown on."""
    return hashlib.sha256(f"generative-studio:{session_id}".encode()).hexdigest()


@dataclass
class VoteStore:
    engine: Engine
    url: str
    ticket_ttl_s: float = TICKET_TTL_S
    max_per_minute: int = MAX_TICKETS_PER_MINUTE

    @classmethod
    def open(cls, url: str | None = None, **options: Any) -> VoteStore:
        """Connect and migrate; StoreUnavailable (with the fix) when the database is missing, locked or
        damaged."""
        url = url or database_url()
        try:
            engine = make_engine(url)
            migrate(engine)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one message for the tab
            raise StoreUnavailable(unavailable_message(url, exc)) from exc
        return cls(engine, url, **options)

    # -- tickets ------------------------------------------------------------------------------------------
    def issue(self, session_id: str, kind: str, modality: str, item: dict[str, Any]) -> str:
        """A new ticket for ``item`` shown to ``session_id``; RateLimited past the per-minute limit."""
        now = time.time()
        key = session_key(session_id)
        ticket = secrets.token_urlsafe(24)
        with self.engine.begin() as conn:
            recent = conn.execute(sa.select(sa.func.count()).select_from(tickets).where(
                tickets.c.session == key, tickets.c.issued_at > now - 60)).scalar_one()
            if recent >= self.max_per_minute:
                raise RateLimited(f"That is {self.max_per_minute} items in a minute from this page; wait a "
                                  "minute, then press Next again.")
            conn.execute(tickets.insert().values(id=ticket, session=key, kind=kind, modality=modality,
                                                 item=json.dumps(item), issued_at=now))
        return ticket

    def _redeem(self, conn: sa.Connection, ticket: str, session_id: str, kind: str, now: float) -> dict[str, Any]:
        """Mark the ticket used (in the caller's transaction) and return what it was issued for."""
        if not isinstance(ticket, str) or not 0 < len(ticket) <= 64:
            raise VoteRefused("This vote has no valid ticket; press Next to get a new item.")
        used = conn.execute(tickets.update().where(
            tickets.c.id == ticket, tickets.c.session == session_key(session_id), tickets.c.kind == kind,
            tickets.c.used_at.is_(None), tickets.c.issued_at > now - self.ticket_ttl_s).values(used_at=now))
        if used.rowcount == 1:
            row = conn.execute(sa.select(tickets.c.item, tickets.c.modality).where(tickets.c.id == ticket)).one()
            return {**json.loads(row.item), "modality": row.modality}
        row = conn.execute(sa.select(tickets).where(tickets.c.id == ticket)).first()
        if row is None or row.session != session_key(session_id) or row.kind != kind:
            raise VoteRefused("This vote's ticket was not issued to this page for this question, so it is not "
                              "counted; press Next to get a new item.")
        if row.used_at is not None:
            raise VoteRefused("This item has already been voted on; press Next for a new one.")
        raise VoteRefused(f"This item was shown more than {self.ticket_ttl_s / 60:g} minutes ago, so the vote "
                          "is not counted; press Next for a new one.")

    # -- votes --------------------------------------------------------------------------------------------
    def judge(self, ticket: str, session_id: str, said_real: bool) -> dict[str, Any]:
        """Store a "real or generated?" answer; returns the item (its true source)."""
        now = time.time()
        with self.engine.begin() as conn:
            item = self._redeem(conn, ticket, session_id, "judge", now)
            conn.execute(judgements.insert().values(ticket=ticket, modality=item["modality"], source=item["source"],
                                                    said_real=bool(said_real), created_at=now))
        return item

    def compare(self, ticket: str, session_id: str, outcome: str) -> dict[str, Any]:
        """Store a pairwise vote ("left", "right" or "tie") under the question its ticket was issued for
        (QUESTIONS; "samples" when the ticket names none); returns the pair."""
        if outcome not in OUTCOMES:
            raise VoteRefused(f"A vote is one of {', '.join(OUTCOMES)}; got {str(outcome)[:20]!r}.")
        now = time.time()
        with self.engine.begin() as conn:
            item = self._redeem(conn, ticket, session_id, "compare", now)
            conn.execute(comparisons.insert().values(ticket=ticket, modality=item["modality"], left_model=item["left"],
                                                     right_model=item["right"], outcome=outcome, created_at=now,
                                                     question=item.get("question", SAMPLES)))
        return item

    # -- reading ------------------------------------------------------------------------------------------
    def judgement_rows(self, modality: str | None = None) -> list[sa.Row]:
        query = sa.select(judgements.c.source, judgements.c.said_real, judgements.c.created_at, judgements.c.modality)
        if modality:
            query = query.where(judgements.c.modality == modality)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(judgements.c.id)))

    def comparison_rows(self, modality: str | None = None, question: str | None = SAMPLES) -> list[sa.Row]:
        """Pairwise votes (left_model, right_model, outcome, created_at, modality, question) of one question
        (None: every question), so that a rating counts only votes on like things."""
        query = sa.select(comparisons.c.left_model, comparisons.c.right_model, comparisons.c.outcome,
                          comparisons.c.created_at, comparisons.c.modality, comparisons.c.question)
        if modality:
            query = query.where(comparisons.c.modality == modality)
        if question:
            query = query.where(comparisons.c.question == question)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(comparisons.c.id)))

    def votes_csv(self, modality: str | None = None) -> str:
        return votes_csv(self.judgement_rows(modality), self.comparison_rows(modality, question=None))

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                    for name, table in (("tickets", tickets), ("judgements", judgements),
                                        ("comparisons", comparisons))}


def votes_csv(judgement_rows: list[sa.Row], comparison_rows: list[sa.Row]) -> str:
    """Every vote, anonymous (no session, no ticket): question, modality, what was shown, the answer, the
    minute it was given (UTC), and for a pairwise vote what its two sides were ("samples" or "completion").
    New columns go last, so a reader of the older file finds its columns where they were."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "modality", "shown", "other", "answer", "minute_utc", "compared"])
    for r in judgement_rows:
        writer.writerow(["real_or_generated", r.modality, r.source, "", "real" if r.said_real else "generated",
                         _minute(r.created_at), ""])
    for r in comparison_rows:
        writer.writerow([CSV_QUESTION.get(r.question, r.question), r.modality, r.left_model, r.right_model,
                         r.outcome, _minute(r.created_at), r.question])
    return out.getvalue()


def _minute(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(seconds))


def unavailable_message(url: str, exc: BaseException) -> str:
    """Why the database can't be used, and the fix, in a visitor's words."""
    where = shown_url(url)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
    low = reason.lower()
    if "not a database" in low or "malformed" in low:
        fix = "The file is damaged: move it aside and restart the app, which makes a new one."
    elif "locked" in low or "busy" in low:
        fix = "Another program holds it locked: close it, then restart the app."
    elif "unable to open" in low or "permission" in low or "read-only" in low:
        fix = "The folder cannot be written: set STUDIO_DATA_DIR to a writable folder and restart."
    elif url.startswith("postgresql"):
        fix = "Check that PostgreSQL is running and that STUDIO_DB_URL names a database this user can write."
    else:
        fix = "Check STUDIO_DB_URL (or unset it to use the built-in SQLite file) and restart."
    return f"Human evaluation is off: the vote database ({where}) could not be used: {reason}. {fix}"
