"""Test fixtures: one database per run, one rolled-back transaction per test.

The database is SQLite by default, or PostgreSQL when the test command sets
``KUDOS_TEST_DATABASE_URL``. It is migrated once with Alembic (the real
upgrade path). Each test runs inside a transaction on one connection; the
application's sessions join it with savepoints, so a view's ``commit()``
only releases a savepoint and everything is rolled back at the end.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command as alembic_command
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from kudos import create_app
from kudos.auth.sessions import SIGNED_IN_AT_KEY
from kudos.db import make_engine, utcnow
from kudos.migrate import alembic_config
from kudos.scim.tokens import create_token as create_scim_token
from tests import factories, secrets_in_logs
from tests.redisserver import throwaway_redis
from tests.scim_client import Scim
from tests.slack_api import SlackApi
from tests.smtp import SmtpServer

TEST_SECRET_KEY = "test-secret-key-not-for-production"


# Files named ``test_*_pg.py`` need PostgreSQL: simultaneous writers with
# row locks (SQLite allows one writer at a time), or a PostgreSQL server of
# their own to stop and start (the fault tests). They are collected only for
# the PostgreSQL run. The SQLite burst test is about SQLite's own locking,
# so it is collected only for the SQLite run. Nothing is skipped either way.
collect_ignore = (
    ["test_sqlite_bursts.py"]
    if os.environ.get("KUDOS_TEST_DATABASE_URL", "").startswith("postgresql")
    else sorted(path.name for path in Path(__file__).parent.glob("test_*_pg.py"))
)


# No secret in the logs: tests/secrets_in_logs.py.


def pytest_configure(config: pytest.Config) -> None:
    secrets_in_logs.start({"SECRET_KEY": TEST_SECRET_KEY})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not secrets_in_logs.finish():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


ONE_ENGINE_MARKERS = ("looks", "one_engine")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser checks of how pages look (``@pytest.mark.looks``), and checks
    of what no engine changes (``@pytest.mark.one_engine``: the page cache's
    memory bounds), run once, in the SQLite run; the pages' answers on
    PostgreSQL are checked by the other tests there."""
    if engine_name() != "postgresql":
        return

    def once(item: pytest.Item) -> bool:
        return any(item.get_closest_marker(name) for name in ONE_ENGINE_MARKERS)

    deselected = [item for item in items if once(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not once(item)]


def pytest_report_header() -> str:
    return f"kudos test database: {engine_name()}"


def engine_name() -> str:
    url = os.environ.get("KUDOS_TEST_DATABASE_URL", "")
    return "postgresql" if url.startswith("postgresql") else "sqlite"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("KUDOS_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'kudos-test.sqlite3'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    with engine.begin() as connection:
        alembic_command.upgrade(alembic_config(connection=connection), "head")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The Redis server of the test command (``KUDOS_TEST_REDIS_URL``); run by
    hand without one, a throwaway server of this run's own. Never skipped:
    CI must pass the test command's server."""
    url = os.environ.get("KUDOS_TEST_REDIS_URL")
    if url:
        yield url
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("KUDOS_TEST_REDIS_URL is not set: run the suite with scripts/run_tests.py")
    with throwaway_redis() as url:
        yield url


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def app_overrides() -> dict[str, object]:
    """Override in a test module to change the app's settings."""
    return {}


@pytest.fixture
def app(
    connection: Connection, database_url: str, app_overrides: dict[str, object], tmp_path: Path
) -> Iterator[Flask]:
    settings = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
        "SESSION_COOKIE_SECURE": False,
        # Tests sign in and load pages faster than people do; the limits are
        # on in their own tests (tests/test_rate_limits.py).
        "RATELIMIT_ENABLED": False,
        # Boards and summaries count each new kudos at once, as a test that
        # sends and then looks expects; the refresh window has its own tests
        # (tests/test_page_cache.py).
        "CACHE_REFRESH_SECONDS": 0,
        **app_overrides,
    }
    app = create_app(settings)
    app.extensions["kudos.db"].configure(bind=connection, join_transaction_mode="create_savepoint")
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """A session for arranging and checking data, inside the test's transaction."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session


@pytest.fixture
def make(session: Session) -> factories.Factory:
    return factories.Factory(session)


class Browser:
    """A signed-in test client that submits forms the way a person would,
    CSRF token included."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, url: str, **kwargs: object):  # noqa: ANN201
        return self.client.get(url, **kwargs)

    def csrf_token(self, url: str) -> str:
        page = self.client.get(url).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert match, f"no CSRF token on {url}"
        return match.group(1)

    def submit(
        self, form_url: str, action: str | None = None, data: dict | None = None, **kwargs: object
    ):  # noqa: ANN201
        fields = {"csrf_token": self.csrf_token(form_url), **(data or {})}
        return self.client.post(action or form_url, data=fields, **kwargs)


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


def sign_in(client: FlaskClient, person) -> None:  # noqa: ANN001
    """Sign ``person`` in by writing the Flask-Login session directly.

    Sign-in itself is tested through its own pages; other tests only need
    to be somebody.
    """
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = person.get_id()
        flask_session["_fresh"] = True
        flask_session[SIGNED_IN_AT_KEY] = int(utcnow().timestamp())


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 for the test; ``smtp.inbox`` holds what it got."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slack_api() -> Iterator[SlackApi]:
    """A stand-in for Slack's Web API on 127.0.0.1 (``tests/slack_api.py``)."""
    with SlackApi() as api:
        yield api


@pytest.fixture
def slack(slack_api: SlackApi) -> SlackApi:
    """The stand-in, with no calls, messages or faults from other tests."""
    slack_api.reset()
    return slack_api


@pytest.fixture
def signed_in(client: FlaskClient, make: factories.Factory):
    """A signed-in ordinary employee; returns the person."""
    person = make.person(name="Ada Lovelace", email="ada@acme.example.com")
    sign_in(client, person)
    return person


@pytest.fixture
def scim_token(session: Session) -> str:
    """A live provisioning token (``kudos scim token create``), committed."""
    _, raw = create_scim_token(session, "Okta", now=utcnow())
    session.commit()
    return raw


@pytest.fixture
def scim(client: FlaskClient, scim_token: str) -> Scim:
    """The provisioning client: ``scim.post("/Users", user("ada@…"))``."""
    return Scim(client, scim_token)
