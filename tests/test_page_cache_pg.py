"""The PostgreSQL fast path: the page cache's token and the company feed's
first page are read in autocommit, straight on the pooled connection
(``kudos.reads``), on the app's own engine rather
than the tests' shared transaction. Collected only for the PostgreSQL run
(conftest.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import Engine, delete, make_url, select, text
from sqlalchemy.orm import Session

from kudos import create_app
from kudos.auth.models import ApiToken
from kudos.auth.sessions import _signed_in_query
from kudos.auth.tokens import hash_token
from kudos.db import make_engine, utcnow
from kudos.extensions import db
from kudos.people.models import Person, Team
from kudos.preferences.models import RecognitionPreference
from kudos.reads import BEGUN, read_rows
from kudos.recognition import feed
from kudos.recognition.models import Kudos, Recognition
from tests.conftest import TEST_SECRET_KEY, sign_in
from tests.factories import Factory
from tests.pgserver import free_port
from tests.statements import statements


@pytest.fixture
def tag() -> str:
    """Names this test's people (``…-{tag}@acme.example.com``) and teams
    (``… {tag}``), so that they are removed afterwards."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def writer_engine(database_url: str, tag: str) -> Iterator[Engine]:
    """Commits for real, as another process would; afterwards it removes
    the test's people, their kudos and preferences, and its teams."""
    engine = make_engine(database_url)
    yield engine
    with Session(engine) as cleaner:
        people = select(Person.id).where(Person.email.like(f"%-{tag}@acme.example.com"))
        cleaner.execute(delete(Kudos).where(Kudos.sender_id.in_(people)))
        cleaner.execute(
            delete(RecognitionPreference).where(RecognitionPreference.person_id.in_(people))
        )
        cleaner.execute(delete(Person).where(Person.id.in_(people)))
        cleaner.execute(delete(Team).where(Team.name.like(f"% {tag}")))
        cleaner.commit()
    engine.dispose()


@pytest.fixture
def own_app() -> Iterator[Callable[[str], Flask]]:
    """Apps on engines of their own (not the tests' shared transaction),
    their connections closed afterwards."""
    made: list[Flask] = []

    def make(url: str) -> Flask:
        settings = {"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": url}
        made.append(create_app(settings))
        return made[-1]

    yield make
    for app in made:
        db.engine(app).dispose()


def test_reading_the_cache_token_returns_connections_to_the_pool_transactional(
    database_url, writer_engine, tag, own_app
):
    """On PostgreSQL the token is read in autocommit before the request's
    transaction, and a page is then served from the cache; the connection
    must go back to the pool as it was, or later requests would write
    statement by statement, without rollback."""
    app = own_app(database_url)
    app_engine = db.engine(app)
    with Session(writer_engine) as writer:
        client = app.test_client()
        sign_in(client, Factory(writer).person(email=f"pool-{tag}@acme.example.com"))
    assert client.get("/leaderboard").status_code == 200
    # The token read this way works: the second view is a cache hit.
    with statements(app_engine) as seen:
        assert client.get("/leaderboard").status_code == 200
    assert not [sql for sql in seen if "leaderboard_score" in sql]

    pooled = [app_engine.raw_connection() for _ in range(app_engine.pool.checkedin() or 1)]
    try:
        assert [c.driver_connection.autocommit for c in pooled] == [False] * len(pooled)
    finally:
        for connection in pooled:
            connection.close()


def test_the_company_feed_read_outside_a_transaction_is_the_rule_for_every_kind_of_viewer(
    database_url, writer_engine, tag, own_app
):
    """The company feed's first page is read in autocommit on the app's own
    engine (``feed.card_refs``): for a manager, a teammate, a recipient and
    somebody with no team it shows the same kudos, in the same order and
    with the same "Older kudos" position, as the feed read in a transaction,
    and the private and team kudos only to those the rule names."""
    app = own_app(database_url)
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
            client.get("/")  # the first view keeps the viewer in this worker
            page = client.get("/").get_data(as_text=True)
            shown = [int(found) for found in re.findall(r'<article [^>]*id="kudos-(\d+)"', page)]
            older = re.search(r'href="/\?before=([\d.]+)" rel="next"', page)
            expected = feed.feed_page(writer, viewer)
            assert shown == [kudos.id for kudos in expected.items], viewer.email
            assert (older and older.group(1)) == (expected.older and expected.older.encode())
            assert {v for v, kudos_id in sent.items() if kudos_id in shown} == allowed
            assert older
        # Read around the session: no SELECT of the page went through it.
        with statements(db.engine(app)) as seen:
            assert client.get("/").status_code == 200
        assert not [sql for sql in seen if "kudos.revision" in sql]


def test_reads_outside_a_transaction_equal_reads_inside_one_in_utc(
    database_url, writer_engine, tag, own_app
):
    """``read_rows`` in autocommit gives what the same statement gives
    through the session, timestamps in UTC as ``UTCDateTime`` gives them,
    even when the connection's time zone is another (Tokyo here)."""
    tokyo = f"{database_url}?options=-c%20timezone%3DAsia/Tokyo"
    app = own_app(tokyo)
    with Session(writer_engine) as writer:
        make = Factory(writer)
        team = make.team(f"Tokyo team {tag}")
        person = make.person(email=f"tokyo-{tag}@acme.example.com", team_id=team.id)
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


def test_a_connection_the_database_dropped_is_a_503_once_then_replaced(
    database_url, writer_engine, tag, own_app
):
    """The reads around the transaction run straight on the driver: when
    the database has dropped the pooled connection, the request answers
    503 as any other would (not a 500), and the connection is thrown away,
    so the next request works."""
    name = f"kudos-dropped-{tag}"
    url = f"{database_url}?application_name={name}"
    app = own_app(url)
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


def test_a_database_that_refuses_connections_is_a_503_for_pages_and_the_api(
    database_url, writer_engine, tag, own_app
):
    """When the database refuses a new connection (stopped, or starting
    up), the reads around the transaction answer 503 like every other
    statement: a signed-in person's page, and an API call, whose token is
    read the same way. Nothing listens on the app's port here."""
    nowhere = make_url(database_url).set(port=free_port()).render_as_string(hide_password=False)
    client = own_app(nowhere).test_client()
    with Session(writer_engine) as writer:
        person = Factory(writer).person(email=f"refused-{tag}@acme.example.com")
        # Not through create_token: its audit entry would outlive the test.
        raw = f"kudos_refused-{tag}"
        writer.add(ApiToken(person=person, name="bot", token_hash=hash_token(raw), prefix=raw[:10]))
        sign_in(client, person)
        writer.commit()

    page = client.get("/")
    api = client.get("/api/v1/values", headers={"Authorization": f"Bearer {raw}"})

    assert (page.status_code, api.status_code) == (503, 503)
    assert page.headers["Retry-After"] == api.headers["Retry-After"]
    assert api.json["error"]["code"] == "unavailable"


def test_a_celebration_is_acknowledged_outside_a_transaction(
    database_url, writer_engine, tag, own_app
):
    """On the app's own engine a recipient's celebration is read and
    acknowledged around the session (``preferences.celebrations``), lists
    included: shown once, with its values, and a hidden kudos is neither
    shown nor acknowledged."""
    app = own_app(database_url)
    client = app.test_client()
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

        with statements(db.engine(app)) as seen:
            first = " ".join(client.get("/leaderboard").get_data(as_text=True).split())
        second = client.get("/leaderboard").get_data(as_text=True)

        assert seen == []  # all of it around the session
        assert "thanked 2 times" in first
        assert (
            '“<span dir="auto">The newest.</span>”'
            "<footer>— <bdi>Ann One</bdi>, for Responsive and Ownership" in first
        )
        assert "From Ann, Ben." in first
        assert "Hidden later." not in first
        assert 'class="celebration"' not in second
        pending = writer.scalars(
            select(Recognition.kudos_id).where(
                Recognition.recipient_id == fan.id, Recognition.acknowledged_at.is_(None)
            )
        ).all()
        assert pending == [hidden.id]
