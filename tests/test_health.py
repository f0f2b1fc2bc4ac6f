"""/healthz and /readyz report the database's state to load balancers,
without sign-in: /readyz also says whether the schema is at this version's
migrations."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from alembic import command as alembic_command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from kudos import create_app
from kudos.db import make_engine
from kudos.migrate import alembic_config
from kudos.revisions import KUDOS_TABLES
from tests.spare_database import spare_database


def test_healthy_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_unavailable_when_the_database_is_unreachable(tmp_path):
    unreachable = f"sqlite:///{tmp_path}/no/such/dir/kudos.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": unreachable})

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable"}


def test_unavailable_when_the_database_server_refuses_connections():
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    refused = "postgresql+psycopg://kudos@127.0.0.1:9/kudos?connect_timeout=2"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": refused})

    response = app.test_client().get("/healthz")

    assert response.status_code == 503


def test_pages_answer_503_not_500_when_the_database_is_unreachable(tmp_path):
    unreachable = f"sqlite:///{tmp_path}/no/such/dir/kudos.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": unreachable})
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = "1:1"

    response = client.get("/")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "very busy" in response.get_data(as_text=True)


# /readyz ---------------------------------------------------------------------------

SCRIPTS = ScriptDirectory.from_config(alembic_config())
(HEAD,) = SCRIPTS.get_heads()
PREVIOUS = SCRIPTS.get_revision(HEAD).down_revision


def test_ready_when_the_schema_is_at_the_newest_migration(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json == {"status": "ready", "database": "ok", "revision": HEAD, "head": HEAD}


@pytest.fixture(scope="module")
def spare(database_url, tmp_path_factory) -> Iterator[str]:
    """A database of these tests' own: only Alembic's version table, stamped
    by each test (what ``kudos db upgrade`` records; /readyz reads nothing else)."""
    with spare_database(database_url, tmp_path_factory.mktemp("readyz")) as url:
        yield url


def readyz_on(url: str, *, stamp: str | None = None, unknown: str | None = None):  # noqa: ANN201
    """/readyz on ``url``, its version table stamped with one of our
    revisions, or holding one this version does not know."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if stamp is not None:
            alembic_command.stamp(alembic_config(connection=connection), stamp)
        if unknown is not None:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": unknown})
    engine.dispose()
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url})
    response = app.test_client().get("/readyz")
    app.extensions["kudos.db"].kw["bind"].dispose()
    return response


@contextlib.contextmanager
def kudos_tables(url: str) -> Iterator[None]:
    """Tables named as Kudos' are (all /readyz looks at), for one test."""
    engine = make_engine(url)
    with engine.begin() as connection:
        for name in KUDOS_TABLES:
            connection.execute(text(f"CREATE TABLE {name} (id INTEGER)"))
    try:
        yield
    finally:
        with engine.begin() as connection:
            for name in KUDOS_TABLES:
                connection.execute(text(f"DROP TABLE {name}"))
        engine.dispose()


def test_not_ready_when_the_database_is_behind_its_migrations(spare):
    response = readyz_on(spare, stamp=PREVIOUS)

    assert response.status_code == 503
    assert response.json == {
        "status": "unavailable",
        "database": "behind",
        "revision": PREVIOUS,
        "head": HEAD,
        "reason": f"the database is at revision {PREVIOUS}, not {HEAD}: run `kudos db upgrade`",
    }


def test_not_ready_when_the_database_has_no_kudos_tables(spare):
    response = readyz_on(spare)

    assert response.status_code == 503
    assert response.json["database"] == "empty"
    assert response.json["reason"] == "the database has no Kudos tables yet: run `kudos db upgrade`"


def test_still_ready_when_a_newer_kudos_upgraded_the_database(spare):
    # A rolling upgrade: `kudos db upgrade` ran for the next version first,
    # and the servers still on this one keep serving until they are replaced.
    with kudos_tables(spare):
        response = readyz_on(spare, unknown="9999_from_the_future")

    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert response.json["revision"] == "9999_from_the_future"
    assert response.json["note"] == "upgraded by a newer version of Kudos"


def test_not_ready_on_another_applications_database(spare):
    response = readyz_on(spare, unknown="ae1027a6acf")

    assert response.status_code == 503
    assert response.json["database"] == "foreign"
    assert response.json["reason"] == (
        "the database is at revision ae1027a6acf, not one of Kudos': "
        "is KUDOS_DATABASE_URL another application's database?"
    )


def test_not_ready_when_the_database_is_unreachable(tmp_path):
    unreachable = f"sqlite:///{tmp_path}/no/such/dir/kudos.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": unreachable})

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable"}


@pytest.mark.one_engine
def test_not_ready_when_the_database_server_refuses_connections():
    refused = "postgresql+psycopg://kudos:hunter2@127.0.0.1:9/kudos?connect_timeout=2"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": refused})

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable"}
    assert "hunter2" not in response.get_data(as_text=True)
