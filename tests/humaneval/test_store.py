"""The vote store on SQLite and PostgreSQL: tickets are single-use, bound to their page and question, and
expire; concurrent voters lose and duplicate nothing; a bad database becomes one plain message."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from studio.humaneval.store import (
    RateLimited,
    StoreUnavailable,
    VoteRefused,
    VoteStore,
    database_url,
    make_engine,
    migrate,
    session_key,
)


@pytest.fixture
def store(db_url):
    s = VoteStore.open(db_url)
    yield s
    s.engine.dispose()


def test_a_vote_with_its_ticket_is_stored_once(store):
    ticket = store.issue("page-1", "judge", "image", {"source": "image-gan"})
    assert store.judge(ticket, "page-1", True) == {"source": "image-gan", "modality": "image"}
    with pytest.raises(VoteRefused, match="already been voted on"):
        store.judge(ticket, "page-1", False)
    rows = store.judgement_rows("image")
    assert [(r.source, r.said_real) for r in rows] == [("image-gan", True)]


def test_forged_foreign_and_mismatched_tickets_are_refused_and_not_stored(store):
    ticket = store.issue("page-1", "compare", "text", {"left": "a", "right": "b"})
    with pytest.raises(VoteRefused, match="not issued to this page"):
        store.compare("made-up-ticket", "page-1", "left")
    with pytest.raises(VoteRefused, match="not issued to this page"):
        store.compare(ticket, "page-2", "left")  # another browser session
    with pytest.raises(VoteRefused, match="not issued to this page"):
        store.judge(ticket, "page-1", True)  # a pair's ticket used for a real-or-generated answer
    with pytest.raises(VoteRefused, match="left, right, tie"):
        store.compare(ticket, "page-1", "both")
    assert store.counts()["comparisons"] == 0 and store.counts()["judgements"] == 0
    assert store.compare(ticket, "page-1", "tie")["left"] == "a"  # still usable by its own page


def test_an_expired_ticket_is_refused(db_url):
    store = VoteStore.open(db_url, ticket_ttl_s=0.2)
    ticket = store.issue("page-1", "judge", "music", {"source": "real"})
    time.sleep(0.3)
    with pytest.raises(VoteRefused, match="shown more than"):
        store.judge(ticket, "page-1", True)
    assert store.counts()["judgements"] == 0


def test_a_session_is_rate_limited(db_url):
    store = VoteStore.open(db_url, max_per_minute=5)
    for _ in range(5):
        store.issue("page-1", "judge", "image", {"source": "real"})
    with pytest.raises(RateLimited, match="wait a minute"):
        store.issue("page-1", "judge", "image", {"source": "real"})
    store.issue("page-2", "judge", "image", {"source": "real"})  # other pages are not held up


def test_nothing_personal_is_stored(store):
    store.issue("the-session-id", "judge", "image", {"source": "real"})
    with store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT session FROM tickets")).scalar_one()
        columns = {c["name"] for t in ("tickets", "judgements", "comparisons")
                   for c in sa.inspect(conn).get_columns(t)}
    assert stored == session_key("the-session-id") and "the-session-id" not in stored
    assert not columns & {"ip", "address", "user_agent", "name", "email"}


def test_concurrent_voters_lose_and_duplicate_nothing(store):
    voters, each = 12, 8
    errors = []

    def voter(k: int) -> None:
        try:
            for v in range(each):
                ticket = store.issue(f"page-{k}", "compare", "image", {"left": "a", "right": "b"})
                store.compare(ticket, f"page-{k}", ("left", "right", "tie")[v % 3])
                with pytest.raises(VoteRefused):
                    store.compare(ticket, f"page-{k}", "left")  # a replay in the same breath
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=voter, args=(k,)) for k in range(voters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.counts()["comparisons"] == voters * each


def test_reopening_keeps_the_votes_and_the_schema(db_url):
    first = VoteStore.open(db_url)
    ticket = first.issue("p", "judge", "text", {"source": "real"})
    first.judge(ticket, "p", False)
    first.engine.dispose()
    again = VoteStore.open(db_url)  # migrations run again: a no-op
    assert again.counts()["judgements"] == 1
    with again.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"


def test_a_pairwise_vote_keeps_its_question_and_each_question_reads_its_own(store):
    for question, outcome in (("samples", "left"), ("completion", "right"), (None, "tie")):
        item = {"left": "image-vae-steer", "right": "image-gan-steer"}
        if question:  # a ticket without one is a "Which is better?" pair, as every ticket was before
            item.update(question=question, picture=3, region="bottom half")
        ticket = store.issue("page-1", "compare", "image", item)
        assert store.compare(ticket, "page-1", outcome)["left"] == "image-vae-steer"
    samples = store.comparison_rows("image")  # the default: "Which is better?" votes only
    assert [(r.outcome, r.question) for r in samples] == [("left", "samples"), ("tie", "samples")]
    assert [r.outcome for r in store.comparison_rows("image", question="completion")] == ["right"]
    assert len(store.comparison_rows("image", question=None)) == 3
    assert store.comparison_rows("text", question="completion") == []


def test_votes_from_before_the_question_column_stay_which_is_better_votes(db_url):
    engine = make_engine(db_url)
    migrate(engine, "0001")  # a database as the app left it before "Which completion is better?"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO tickets (id, session, kind, modality, item, issued_at, used_at) VALUES "
                             "('t-old', 's', 'compare', 'image', '{}', 1, 2)"))
        conn.execute(sa.text("INSERT INTO comparisons (ticket, modality, left_model, right_model, outcome, created_at) "
                             "VALUES ('t-old', 'image', 'image-gan', 'image-vae', 'left', 2)"))
    engine.dispose()
    store = VoteStore.open(db_url)  # migrates to the newest revision
    try:
        assert [(r.left_model, r.question) for r in store.comparison_rows("image")] == [("image-gan", "samples")]
        assert store.comparison_rows("image", question="completion") == []
        assert store.votes_csv("image").splitlines()[1].startswith("which_is_better,image,image-gan,image-vae,left,")
    finally:
        store.engine.dispose()


def test_votes_csv_is_anonymous(store):
    ticket = store.issue("page-1", "compare", "music", {"left": "music-gan", "right": "music-vae"})
    store.compare(ticket, "page-1", "right")
    text = store.votes_csv("music")
    assert text.splitlines()[0] == "question,modality,shown,other,answer,minute_utc,compared"
    assert "which_is_better,music,music-gan,music-vae,right," in text and text.rstrip().endswith(",samples")
    assert ticket not in text and session_key("page-1") not in text


def test_a_damaged_database_file_gives_one_plain_message(tmp_path):
    path = tmp_path / "votes.db"
    path.write_bytes(b"this is not a database, just bytes " * 200)
    with pytest.raises(StoreUnavailable, match="damaged: move it aside"):
        VoteStore.open(f"sqlite:///{path}")


def test_an_unreachable_postgres_gives_one_plain_message():
    with pytest.raises(StoreUnavailable, match="Check that PostgreSQL is running"):
        VoteStore.open("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_where_the_database_goes(monkeypatch, tmp_path):
    monkeypatch.delenv("STUDIO_DB_URL", raising=False)
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    assert database_url() == f"sqlite:///{tmp_path / 'votes.db'}"
    monkeypatch.setenv("STUDIO_DB_URL", "postgresql://u:secret@db.example/votes")
    assert database_url() == "postgresql+psycopg://u:secret@db.example/votes"


def test_the_tab_becomes_one_message_when_the_database_is_unusable(tmp_path, monkeypatch):
    import gradio as gr

    from studio.humaneval.tab import build_tab
    from studio.modalities import ALL
    from studio.registry.serving import ModelRegistry

    bad = tmp_path / "votes.db"
    bad.write_bytes(b"not a database " * 100)
    monkeypatch.setenv("STUDIO_DB_URL", f"sqlite:///{bad}")
    with gr.Blocks() as demo:
        build_tab(ModelRegistry(tmp_path / "no-models", modalities=ALL), ALL)
    texts = [b.value for b in demo.blocks.values() if getattr(b, "elem_id", None) == "eval-unavailable"]
    assert texts and "Human evaluation is off" in texts[0] and "move it aside" in texts[0]
    assert not [b for b in demo.blocks.values() if getattr(b, "elem_id", "") == "eval-image-next"]
