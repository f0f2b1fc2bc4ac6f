"""The PostgreSQL fast path: the page cache's token and the company feed's
first page are read in autocommit, straight on the pooled connection
(``kudos.reads``), on the app's own engine rather
than the tests' shared transaction. Collected only for the PostgreSQL run
(conftest.py)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, event, select, text
from sqlalchemy.orm import Session

from kudos import create_app
from kudos.auth.sessions import _signed_in_query
from kudos.db import make_engine, utcnow
from kudos.extensions import db
from kudos.people.models import Person, Team
from kudos.preferences.models import RecognitionPreference
from kudos.reads import BEGUN, read_rows
from kudos.recognition import feed
from kudos.recognition.models import Kudos, Recognition
from tests.conftest import TEST_SECRET_KEY, sign_in
from tests.factories import Factory


def test_reading_the_cache_token_returns_connections_to_the_pool_transactional(
    engine, database_url
):
    """On PostgreSQL the token is read in autocommit before the request's
    transaction, and a page is then served from the cache; the connection
    must go back to the pool as it was, or later requests would write
    statement by statement, without rollback."""
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": database_url})
    app_engine = app.extensions["kudos.db"].kw["bind"]
    writer_engine = make_engine(database_url)
    email = f"pool-{utcnow().timestamp()}@acme.example.com"
    try:
        with Session(writer_engine) as writer:
            person = Person(name="Pat Pool", email=email, onboarding_postponed_at=utcnow())
            writer.add(person)
            writer.commit()
            client = app.test_client()
            sign_in(client, person)
            assert client.get("/leaderboard").status_code == 200
            # The token read this way works: the second view is a cache hit.
            statements: list[str] = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(app_engine, "before_cursor_execute", listener)
            try:
                assert client.get("/leaderboard").status_code == 200
            finally:
                event.remove(app_engine, "before_cursor_execute", listener)
            assert not [sql for sql in statements if "leaderboard_score" in sql]

        pooled = [app_engine.raw_connection() for _ in range(app_engine.pool.checkedin() or 1)]
        try:
            assert [c.driver_connection.autocommit for c in pooled] == [False] * len(pooled)
        finally:
            for connection in pooled:
                connection.close()
    finally:
        with Session(writer_engine) as cleaner:
            cleaner.execute(delete(Person).where(Person.email == email))
            cleaner.commit()
        writer_engine.dispose()
        app_engine.dispose()


def test_the_company_feed_read_outside_a_transaction_is_the_rule_for_every_kind_of_viewer(
    database_url,
):
    """The company feed's first page is read in autocommit on the app's own
    engine (``feed.card_refs``): for a manager, a teammate, a recipient and
    somebody with no team it shows the same kudos, in the same order and
    with the same "Older kudos" position, as the feed read in a transaction,
    and the private and team kudos only to those the rule names."""
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": database_url})
    app_engine = app.extensions["kudos.db"].kw["bind"]
    writer_engine = make_engine(database_url)
    tag = uuid.uuid4().hex[:8]
    try:
        with Session(writer_engine) as writer:
            make = Factory(writer)
            team = make.team(f"Feed team {tag}")
            manager = make.person(email=f"manager-{tag}@acme.example.com")
            report = make.person(
                email=f"report-{tag}@acme.example.com", team_id=team.id, manager_id=manager.id
            )
            teammate = make.person(email=f"teammate-{tag}@acme.example.com", team_id=team.id)
            outsider = make.person(email=f"outsider-{tag}@acme.example.com")
            sender = make.person(email=f"sender-{tag}@acme.example.com")
            for _ in range(feed.PAGE_SIZE):  # so that every first page has older kudos
                make.kudos(sender, [outsider])
            sent = {
                visibility: make.kudos(sender, [report], visibility=visibility).id
                for visibility in ("private", "team", "public")
            }
            sees = {
                manager: {"private", "team", "public"},
                report: {"private", "team", "public"},
                teammate: {"team", "public"},
                outsider: {"public"},
            }
            for viewer, allowed in sees.items():
                client = app.test_client()
                sign_in(client, viewer)
                client.get("/")  # the first view loads the viewer in a transaction
                page = client.get("/").get_data(as_text=True)
                shown = [
                    int(found) for found in re.findall(r'<article [^>]*id="kudos-(\d+)"', page)
                ]
                older = re.search(r'href="/\?before=([\d.]+)" rel="next"', page)
                expected = feed.feed_page(writer, viewer)
                assert shown == [kudos.id for kudos in expected.items], viewer.email
                assert (older and older.group(1)) == (expected.older and expected.older.encode())
                assert {v for v, kudos_id in sent.items() if kudos_id in shown} == allowed
                assert older
            # Read around the session: no SELECT of the page went through it.
            statements: list[str] = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(app_engine, "before_cursor_execute", listener)
            try:
                assert client.get("/").status_code == 200
            finally:
                event.remove(app_engine, "before_cursor_execute", listener)
            assert not [sql for sql in statements if "kudos.revision" in sql]
    finally:
        with Session(writer_engine) as cleaner:
            people = select(Person.id).where(Person.email.like(f"%-{tag}@acme.example.com"))
            cleaner.execute(delete(Kudos).where(Kudos.sender_id.in_(people)))
            cleaner.execute(delete(Person).where(Person.id.in_(people)))
            cleaner.execute(delete(Team).where(Team.name == f"Feed team {tag}"))
            cleaner.commit()
        writer_engine.dispose()
        app_engine.dispose()


def test_reads_outside_a_transaction_equal_reads_inside_one_in_utc(database_url):
    """``read_rows`` in autocommit gives what the same statement gives
    through the session, timestamps in UTC as ``UTCDateTime`` gives them,
    even when the connection's time zone is another (Tokyo here)."""
    tokyo = f"{database_url}?options=-c%20timezone%3DAsia/Tokyo"
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": tokyo})
    writer_engine = make_engine(database_url)
    tag = uuid.uuid4().hex[:8]
    try:
        with Session(writer_engine) as writer:
            make = Factory(writer)
            person = make.person(email=f"tokyo-{tag}@acme.example.com", team_id=make.team().id)
            make.kudos(make.person(email=f"sender-{tag}@acme.example.com"), [person])
            reads = {
                "person": (_signed_in_query(), {"person_id": person.id}),
                "feed": (
                    feed._first_page(True, feed.PAGE_SIZE),
                    {"viewer_id": person.id, "viewer_team_id": person.team_id},
                ),
            }
            for name, (statement, params) in reads.items():
                with app.test_request_context():
                    outside = read_rows(db.session, statement, params)
                    assert BEGUN not in db.session.info, name  # it did go around
                    db.session.connection()  # a transaction: now it reads inside
                    inside = read_rows(db.session, statement, params)
                    zone = db.session.execute(text("SHOW timezone")).scalar()
                assert zone == "Asia/Tokyo"
                assert outside == inside, name
                stamps = [value for value in outside[0] if isinstance(value, datetime)]
                assert stamps, name
                assert all(stamp.tzinfo is UTC for stamp in stamps), name
    finally:
        with Session(writer_engine) as cleaner:
            people = select(Person.id).where(Person.email.like(f"%-{tag}@acme.example.com"))
            cleaner.execute(delete(Kudos).where(Kudos.sender_id.in_(people)))
            cleaner.execute(delete(Person).where(Person.id.in_(people)))
            cleaner.commit()
        writer_engine.dispose()
        db.engine(app).dispose()


def test_a_connection_the_database_dropped_is_a_503_once_then_replaced(database_url):
    """The reads around the transaction run straight on the driver: when
    the database has dropped the pooled connection, the request answers
    503 as any other would (not a 500), and the connection is thrown away,
    so the next request works."""
    name = f"kudos-dropped-{uuid.uuid4().hex[:8]}"
    url = f"{database_url}?application_name={name}"
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": url})
    writer_engine = make_engine(database_url)
    tag = uuid.uuid4().hex[:8]
    try:
        client = app.test_client()
        with Session(writer_engine) as writer:
            sign_in(client, Factory(writer).person(email=f"dropped-{tag}@acme.example.com"))
        assert client.get("/").status_code == 200
        assert client.get("/").status_code == 200  # the person kept: reads go around
        with writer_engine.connect() as admin:
            dropped = admin.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar()
        assert dropped >= 1

        lost = client.get("/")
        again = client.get("/")

        assert lost.status_code == 503
        assert again.status_code == 200
    finally:
        with Session(writer_engine) as cleaner:
            cleaner.execute(delete(Person).where(Person.email == f"dropped-{tag}@acme.example.com"))
            cleaner.commit()
        writer_engine.dispose()
        db.engine(app).dispose()


def test_a_celebration_is_acknowledged_outside_a_transaction(database_url):
    """On the app's own engine a recipient's celebration is read and
    acknowledged around the session (``preferences.celebrations``), lists
    included: shown once, with its values, and a hidden kudos is neither
    shown nor acknowledged."""
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": database_url})
    writer_engine = make_engine(database_url)
    tag = uuid.uuid4().hex[:8]
    client = app.test_client()
    try:
        with Session(writer_engine) as writer:
            make = Factory(writer)
            fan = make.person(name="Fay Fan", email=f"fan-{tag}@acme.example.com")
            writer.add(RecognitionPreference(person_id=fan.id, style="celebratory"))
            ann = make.person(name="Ann One", email=f"ann-{tag}@acme.example.com")
            ben = make.person(name="Ben Two", email=f"ben-{tag}@acme.example.com")
            hidden = make.kudos(ben, [fan], message="Hidden later.")
            hidden.hidden_at, hidden.hidden_reason = utcnow(), "Test"
            writer.commit()
            sign_in(client, fan)
            client.get("/leaderboard")  # the person and the boards kept: new kudos keep them
            make.kudos(ben, [fan], message="Older one.")
            make.kudos(ann, [fan], message="The newest.", values=["ownership", "responsive"])

            statements: list[str] = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(db.engine(app), "before_cursor_execute", listener)
            try:
                first = " ".join(client.get("/leaderboard").get_data(as_text=True).split())
            finally:
                event.remove(db.engine(app), "before_cursor_execute", listener)
            second = client.get("/leaderboard").get_data(as_text=True)

            assert statements == []  # all of it around the session

            assert "thanked 2 times" in first
            assert "“The newest.”<footer>— Ann One, for Responsive and Ownership</footer>" in first
            assert "From Ann, Ben." in first
            assert "Hidden later." not in first
            assert 'class="celebration"' not in second
            pending = writer.scalars(
                select(Recognition.kudos_id).where(
                    Recognition.recipient_id == fan.id, Recognition.acknowledged_at.is_(None)
                )
            ).all()
            assert pending == [hidden.id]
    finally:
        with Session(writer_engine) as cleaner:
            people = select(Person.id).where(Person.email.like(f"%-{tag}@acme.example.com"))
            cleaner.execute(delete(Kudos).where(Kudos.sender_id.in_(people)))
            cleaner.execute(
                delete(RecognitionPreference).where(RecognitionPreference.person_id.in_(people))
            )
            cleaner.execute(delete(Person).where(Person.id.in_(people)))
            cleaner.commit()
        writer_engine.dispose()
        db.engine(app).dispose()
