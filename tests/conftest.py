"""Test fixtures: one database per run, one rolled-back transaction per test.

The database is SQLite by default, or PostgreSQL when the test command sets
``KUDOS_TEST_DATABASE_URL``. It is migrated once with Alembic (the real
upgrade path). Each test runs inside a transaction on one connection; the
application's sessions join it with savepoints, so a view's ``commit()``
only releases a savepoint and everything is rolled back at the end.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import types
from collections.abc import Iterable, Iterator, Mapping
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from alembic import command as alembic_command
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session

import kudos.auth.tokens
import kudos.scim.tokens
from kudos import create_app
from kudos.auth.models import Identity
from kudos.auth.sessions import SIGNED_IN_AT_KEY
from kudos.db import make_engine, utcnow
from kudos.logs import JsonFormatter
from kudos.migrate import alembic_config
from kudos.recognition.models import Kudos
from kudos.scim.tokens import create_token as create_scim_token
from tests import factories
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


# Secrets in the logs -----------------------------------------------------------
#
# Every record of the whole run, at INFO as a server logs, is written as JSON
# to LOG_FILE. Meanwhile SECRETS collects every secret the run makes or
# sends, and at the end the run fails if any of them is in LOG_FILE. What
# records them (set up in ``pytest_configure``, for every test and app):
#   - ``Flask.__call__``, wrapped for every app of the run: the app's own
#     secrets (secret key, OIDC client secret, Slack tokens and signing
#     secret, passwords in the SMTP and database URLs), and, from each
#     request and answer, the Authorization header's credentials (API and
#     SCIM tokens), every cookie sent or set (sessions), and an OIDC
#     callback's ``code`` and ``state``;
#   - the ``secrets`` module as the API- and SCIM-token modules see it: each
#     token minted, even one only shown on a page;
#   - SQLAlchemy attribute events: every kudos message, and every ID token
#     kept for signing out.

# One file per run (runs may overlap); removed when it holds no secret.
LOG_FILE = Path(__file__).resolve().parent.parent / "test-output" / f"log-{os.getpid()}.jsonl"
# Shorter values (a test's "x", Slack's stand-in "xoxb-test") would match by chance.
MIN_SECRET_LENGTH = 12
SECRETS: dict[str, str] = {}  # the secret -> what it is


def record_secret(kind: str, value: object) -> None:
    if isinstance(value, str) and meaningful(value):
        SECRETS.setdefault(value, kind)


def meaningful(secret: str) -> bool:
    """Long and varied enough not to turn up by chance (a test's state of
    "9999…" is in the path of a test's 404 for a huge id)."""
    return len(secret) >= MIN_SECRET_LENGTH and len(set(secret)) >= 5


def find_secrets(lines: Iterable[str], secrets: Mapping[str, str]) -> list[tuple[int, str, str]]:
    """``(line number, what, line)`` for each secret found in ``lines``, as
    it is or as JSON writes it. One pass over the text: each secret is
    looked for only where its first characters are."""
    probes: dict[str, list[tuple[str, str]]] = {}
    for secret, kind in secrets.items():
        if not meaningful(secret):
            continue
        for form in {secret, json.dumps(secret)[1:-1]}:
            probes.setdefault(form[:MIN_SECRET_LENGTH], []).append((form, kind))
    found = []
    for number, line in enumerate(lines, 1):
        seen = set()
        for start in range(len(line) - MIN_SECRET_LENGTH + 1):
            for form, kind in probes.get(line[start : start + MIN_SECRET_LENGTH], ()):
                if form not in seen and line.startswith(form, start):
                    seen.add(form)
                    found.append((number, kind, line))
    return found


def _record_app_secrets(config: Mapping[str, Any]) -> None:
    for key in ("SECRET_KEY", "OIDC_CLIENT_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        record_secret(key, config.get(key))
    record_secret("SLACK_SIGNING_SECRET", config.get("SLACK_SIGNING_SECRET"))
    for key in ("SMTP_URL", "DATABASE_URL"):
        if config.get(key):
            record_secret(f"password in {key}", urlsplit(config[key]).password)


def _record_request_secrets(environ: Mapping[str, Any]) -> None:
    record_secret("Authorization header", environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2])
    _record_cookies("cookie sent", environ.get("HTTP_COOKIE", ""))
    query = environ.get("QUERY_STRING", "")
    if "code=" in query or "state=" in query:
        for name, values in parse_qs(query).items():
            if name in ("code", "state"):
                for value in values:
                    record_secret(f"OIDC {name}", value)


def _record_cookies(kind: str, header: str) -> None:
    if header:
        cookies: SimpleCookie = SimpleCookie()
        cookies.load(header)
        for morsel in cookies.values():
            record_secret(f"{kind}: {morsel.key}", morsel.value)


def _recording_wsgi(call: Any) -> Any:  # noqa: ANN401
    def recording_call(self: Flask, environ: dict, start_response: Any) -> Any:  # noqa: ANN401
        _record_app_secrets(self.config)
        _record_request_secrets(environ)

        def recording_start_response(status: str, headers: list, *args: Any) -> Any:  # noqa: ANN401
            for name, value in headers:
                if name.lower() == "set-cookie":
                    _record_cookies("cookie set", value)
            return start_response(status, headers, *args)

        return call(self, environ, recording_start_response)

    return recording_call


class _RecordingSecrets(types.SimpleNamespace):
    """The ``secrets`` module as a token-minting module sees it."""

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        return getattr(secrets, name)

    def token_urlsafe(self, nbytes: int | None = None) -> str:
        token = secrets.token_urlsafe(nbytes)
        record_secret(f"token minted by {self.minter}", token)
        return token


def _start_recording_secrets() -> None:
    from tests.oidc_provider import CLIENT_SECRET
    from tests.slack_requests import SIGNING_SECRET

    record_secret("SECRET_KEY", TEST_SECRET_KEY)
    record_secret("OIDC_CLIENT_SECRET", CLIENT_SECRET)
    record_secret("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    Flask.__call__ = _recording_wsgi(Flask.__call__)  # type: ignore[method-assign]
    for module in (kudos.auth.tokens, kudos.scim.tokens):
        module.secrets = _RecordingSecrets(minter=module.__name__)  # type: ignore[attr-defined]
    for attribute, kind in ((Kudos.message, "kudos message"), (Identity.id_token, "ID token")):
        event.listen(attribute, "set", _recording_set(kind))


def _recording_set(kind: str) -> Any:  # noqa: ANN401
    def record(target: object, value: object, *rest: object) -> None:
        record_secret(kind, value)

    return record


def _start_capturing_logs() -> logging.Handler:
    LOG_FILE.parent.mkdir(exist_ok=True)
    handler = logging.FileHandler(LOG_FILE, mode="w", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # what a server logs (kudos.logs.configure)
    return handler


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_LOG_HANDLER] = _start_capturing_logs()
    _start_recording_secrets()


_LOG_HANDLER = pytest.StashKey[logging.Handler]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    handler = session.config.stash.get(_LOG_HANDLER, None)
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    handler.close()
    with LOG_FILE.open(encoding="utf-8") as lines:
        found = find_secrets(lines, SECRETS)
    if found:
        kinds = sorted({kind for _, kind, _ in found})
        print(f"\n{len(found)} secrets in this run's logs ({', '.join(kinds)}), in {LOG_FILE}:")
        for number, kind, line in found[:20]:
            print(f"  line {number}: {kind}: {line.strip()[:300]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        LOG_FILE.unlink()


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
