"""``kudos doctor`` against the real things: a database (behind its
migrations, unreachable), a running Kudos at KUDOS_BASE_URL and an address
that redirects elsewhere, the OpenID provider of the sign-in tests, an SMTP
server, Redis and the Slack stand-in, each up and then down or misconfigured.
One line per check, no secret, and an exit code a deployment can gate on."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from alembic import command as alembic_command
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import delete, insert
from werkzeug.serving import make_server

import config
from kudos import create_app
from kudos.cli import cli
from kudos.db import make_engine, utcnow
from kudos.migrate import alembic_config
from kudos.outbox.models import OutboxMessage
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, free_port, running_provider
from tests.redisserver import throwaway_redis
from tests.slack_api import TEAM_ID, TOKEN
from tests.smtp import Inbox
from tests.spare_database import spare_database

SECRET_KEY = "doctor-tests-secret-key-0123456789-abcdef"
SCRIPTS = ScriptDirectory.from_config(alembic_config())
(HEAD,) = SCRIPTS.get_heads()
PREVIOUS = SCRIPTS.get_revision(HEAD).down_revision
LINE = re.compile(r"(?P<mark>ok|WARN|FAIL|skip) {2,}(?P<name>\S+(?: \S+)*) {2,}(?P<message>.*)")


@pytest.fixture(scope="module")
def migrated(database_url, tmp_path_factory) -> Iterator[str]:
    """A database at this version's schema, outside the tests' rolled-back
    transaction, so what a test commits there is what the doctor sees."""
    with spare_database(database_url, tmp_path_factory.mktemp("doctor")) as url:
        alembic_command.upgrade(alembic_config(url), "head")
        yield url


@pytest.fixture
def engine(migrated):
    engine = make_engine(migrated)
    yield engine
    engine.dispose()


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def doctor(settings: dict[str, str], *args: str) -> tuple[Result, dict[str, tuple[str, str]]]:
    """``kudos doctor ARGS`` with exactly these KUDOS_* settings (and a good
    secret key, unless given); returns the result and ``{check: (mark, message)}``."""
    environment: dict[str, str | None] = {
        name: None
        for name in os.environ
        if name.startswith("KUDOS_") and not name.startswith("KUDOS_TEST_")
    }
    environment["FLASK_RUN_FROM_CLI"] = None  # FlaskGroup sets it; put back after
    environment.update({"KUDOS_SECRET_KEY": SECRET_KEY, **settings})
    result = CliRunner().invoke(
        cli, ["doctor", "--timeout", "3", *args], env=environment, prog_name="kudos"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    lines = {
        match["name"]: (match["mark"], match["message"])
        for match in map(LINE.fullmatch, result.output.splitlines())
        if match
    }
    return result, lines


def base(migrated: str, **settings: str) -> dict[str, str]:
    """Settings that load: the database, and an address where nothing answers."""
    return {"KUDOS_DATABASE_URL": migrated, "KUDOS_BASE_URL": closed_port_url(), **settings}


# A healthy deployment ----------------------------------------------------------------


@pytest.fixture(scope="module")
def site(migrated) -> Iterator[str]:
    """Kudos itself, served over HTTP on 127.0.0.1 (what KUDOS_BASE_URL reaches)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": migrated, "BASE_URL": url}
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()
    thread.join()
    app.extensions["kudos.db"].kw["bind"].dispose()


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    with running_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture(scope="module")
def redis() -> Iterator[str]:
    # Our own, not the suite's (KUDOS_TEST_REDIS_URL): one test stops it.
    with throwaway_redis() as url:
        yield url


def oidc_settings(issuer: str, secret: str = CLIENT_SECRET) -> dict[str, str]:
    return {
        "KUDOS_OIDC_ISSUER": issuer,
        "KUDOS_OIDC_CLIENT_ID": CLIENT_ID,
        "KUDOS_OIDC_CLIENT_SECRET": secret,
    }


def slack_settings(slack, token: str = TOKEN, team_id: str = TEAM_ID) -> dict[str, str]:
    return {
        "KUDOS_SLACK_BOT_TOKEN": token,
        "KUDOS_SLACK_SIGNING_SECRET": "slack-signing-secret-for-tests",
        "KUDOS_SLACK_TEAM_ID": team_id,
        "KUDOS_SLACK_API_URL": slack.url,
    }


@pytest.mark.one_engine
def test_everything_up_and_configured_is_all_ok_and_exits_0(
    migrated, site, provider, smtp, redis, slack
):
    settings = {
        "KUDOS_DATABASE_URL": migrated,
        "KUDOS_BASE_URL": site,
        **oidc_settings(provider.issuer),
        "KUDOS_SMTP_URL": smtp.url,
        "KUDOS_RATELIMIT_STORAGE_URL": redis,
        **slack_settings(slack),
    }

    result, lines = doctor(settings)

    assert result.exit_code == 0, result.output
    assert {name: mark for name, (mark, _) in lines.items()} == {
        "configuration": "ok",
        "secret key": "ok",
        "database": "ok",
        "base URL": "ok",
        "sign-in (OIDC)": "ok",
        "e-mail (SMTP)": "ok",
        "rate limits": "ok",
        "Slack": "ok",
        "outbox": "ok",
    }, result.output
    assert lines["database"][1].endswith(f"at revision {HEAD} (the newest)")
    assert lines["sign-in (OIDC)"][1].endswith("accepts the client id and secret")
    assert lines["Slack"][1] == f"the bot token is valid for the workspace {TEAM_ID} (Kudos Test)"
    assert lines["outbox"] == ("ok", "nothing is waiting to be sent")
    assert result.output.splitlines()[-1] == "0 failed, 0 to look at, 9 ok, 0 skipped."
    for secret in (SECRET_KEY, CLIENT_SECRET, TOKEN, "slack-signing-secret-for-tests"):
        assert secret not in result.output


@pytest.mark.one_engine
def test_nothing_optional_configured_is_skipped_not_failed(migrated):
    result, lines = doctor(base(migrated))

    assert result.exit_code == 0, result.output
    assert lines["sign-in (OIDC)"][0] == "skip"
    assert lines["e-mail (SMTP)"] == ("skip", "e-mail is off (KUDOS_SMTP_URL is not set)")
    assert lines["Slack"][0] == "skip"
    assert lines["rate limits"][0] == "ok"
    assert "each process's memory" in lines["rate limits"][1]
    assert lines["base URL"][0] == "WARN"  # nothing answers there: maybe not deployed yet


# The configuration ---------------------------------------------------------------


@pytest.mark.one_engine
def test_an_unusable_configuration_lists_every_problem_as_start_up_and_exits_2(migrated):
    settings = {
        "KUDOS_DATABASE_URL": migrated,
        "KUDOS_SECRET_KEY": "",
        "KUDOS_BASE_URL": "ftp://kudos.example.com",
        "KUDOS_TIMEZONE": "Mars/Olympus_Mons",
        "KUDOS_SMTP_URL": "mail://kudos:hunter22@mail.example.com",
        "KUDOS_SLACK_BOT_TOKEN": "xoxb-no-secret-nor-team",
    }
    with pytest.raises(config.ConfigError) as start_up:
        config.load(settings, instance_path="/nowhere")
    expected = [problem.replace("hunter22", "***") for problem in start_up.value.problems]
    expected.append(
        "KUDOS_SECRET_KEY is required: set it to a long random string, for example "
        "the output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
    )

    result, lines = doctor(settings)

    assert result.exit_code == 2
    assert lines["configuration"] == (
        "FAIL",
        f"{len(expected)} problems: Kudos does not start until they are fixed",
    )
    listed = [line.strip()[2:] for line in result.output.splitlines() if line.startswith(" ")]
    assert listed == expected
    assert "hunter22" not in result.output
    # What the problems leave alone is still checked; the rest says why not.
    assert lines["database"][0] == "ok"
    assert lines["rate limits"][0] == "ok"
    assert lines["e-mail (SMTP)"] == ("skip", "not checked: KUDOS_SMTP_URL (see configuration)")
    assert lines["secret key"][0] == lines["base URL"][0] == lines["Slack"][0] == "skip"


@pytest.mark.one_engine
@pytest.mark.parametrize("length", [31, 32])
def test_the_secret_key_needs_32_characters(migrated, length):
    key = "k" * (length - 10) + "0123456789"

    result, lines = doctor(base(migrated, KUDOS_SECRET_KEY=key))

    if length < 32:
        assert result.exit_code == 1
        assert lines["secret key"][0] == "FAIL"
        assert lines["secret key"][1].startswith(
            "KUDOS_SECRET_KEY has 31 characters; use at least 32"
        )
    else:
        assert result.exit_code == 0, result.output
        assert lines["secret key"] == ("ok", "KUDOS_SECRET_KEY has 32 characters (at least 32)")
    assert key not in result.output


# The database ---------------------------------------------------------------------


def test_a_database_behind_its_migrations_names_the_command_to_run(migrated):
    alembic_command.downgrade(alembic_config(migrated), "-1")
    try:
        result, lines = doctor(base(migrated))
    finally:
        alembic_command.upgrade(alembic_config(migrated), "head")

    assert result.exit_code == 1
    assert lines["database"][0] == "FAIL"
    assert lines["database"][1].endswith(
        f"is at revision {PREVIOUS}, not {HEAD}: run `kudos db upgrade`"
    )
    assert lines["outbox"] == ("skip", "not checked: needs the database (above)")


@pytest.mark.one_engine
def test_an_unreachable_database_server_fails_without_its_password():
    url = f"postgresql+psycopg://kudos:hunter22@127.0.0.1:{free_port()}/kudos"

    result, lines = doctor({"KUDOS_DATABASE_URL": url, "KUDOS_BASE_URL": closed_port_url()})

    assert result.exit_code == 1
    assert lines["database"][0] == "FAIL"
    assert lines["database"][1].startswith(
        "cannot open the database postgresql+psycopg://kudos:***@127.0.0.1:"
    )
    assert "hunter22" not in result.output


@pytest.mark.one_engine
def test_a_missing_sqlite_database_is_not_created(tmp_path):
    database = tmp_path / "kudos.sqlite3"

    result, lines = doctor(
        {"KUDOS_DATABASE_URL": f"sqlite:///{database}", "KUDOS_BASE_URL": closed_port_url()}
    )

    assert result.exit_code == 1
    assert lines["database"] == (
        "FAIL",
        f"there is no database at {database}: create it with `kudos db upgrade`",
    )
    assert not database.exists()


@pytest.mark.one_engine
def test_a_database_without_kudos_tables_names_the_command_to_run(tmp_path):
    database = tmp_path / "kudos.sqlite3"
    database.touch()  # SQLite takes an empty file as an empty database

    result, lines = doctor(
        {"KUDOS_DATABASE_URL": f"sqlite:///{database}", "KUDOS_BASE_URL": closed_port_url()}
    )

    assert result.exit_code == 1
    assert lines["database"] == (
        "FAIL",
        f"sqlite:///{database} has no Kudos tables yet: run `kudos db upgrade`",
    )


@pytest.mark.one_engine
def test_another_applications_database_is_not_taken_for_a_newer_kudos(tmp_path):
    database = tmp_path / "other.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("INSERT INTO alembic_version VALUES ('ae1027a6acf')")

    result, lines = doctor(
        {"KUDOS_DATABASE_URL": f"sqlite:///{database}", "KUDOS_BASE_URL": closed_port_url()}
    )

    assert result.exit_code == 1
    assert lines["database"] == (
        "FAIL",
        f"sqlite:///{database} is at revision ae1027a6acf, not one of Kudos': "
        "is it another application's database?",
    )


@pytest.mark.one_engine
@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "not a url",
            "KUDOS_DATABASE_URL must be a database URL such as "
            "postgresql+psycopg://db.example.com/kudos, not 'not a url' (it does not parse)",
        ),
        (
            "postgresql+psycopg://kudos:hunter22@db.example.com:abc/kudos",
            "KUDOS_DATABASE_URL must be a database URL such as "
            "postgresql+psycopg://db.example.com/kudos, not "
            "'postgresql+psycopg://kudos:***@db.example.com:abc/kudos' (its port is not a number)",
        ),
        (
            "mysql://kudos:hunter22@db.example.com/kudos",
            "KUDOS_DATABASE_URL mysql://kudos:***@db.example.com/kudos needs the Python module "
            "MySQLdb, which is not installed: Kudos runs on postgresql+psycopg:// or sqlite:///",
        ),
    ],
    ids=["not-a-url", "port-not-a-number", "driver-not-installed"],
)
def test_a_database_url_kudos_cannot_use_is_a_configuration_problem(url, message):
    result, lines = doctor({"KUDOS_DATABASE_URL": url, "KUDOS_BASE_URL": closed_port_url()})

    assert result.exit_code == 2, result.output
    assert lines["configuration"] == ("FAIL", "1 problem: Kudos does not start until it is fixed")
    listed = [line.strip()[2:] for line in result.output.splitlines() if line.startswith(" ")]
    assert listed == [message]
    assert lines["database"] == ("skip", "not checked: KUDOS_DATABASE_URL (see configuration)")
    assert lines["outbox"] == ("skip", "not checked: needs the database (above)")
    assert "hunter22" not in result.output


@pytest.mark.parametrize(
    ("age", "mark"),
    [(timedelta(minutes=5), "ok"), (timedelta(minutes=20), "WARN"), (timedelta(hours=2), "FAIL")],
)
def test_the_oldest_queued_email_says_whether_delivery_runs(migrated, engine, age, mark):
    now = utcnow()
    row = {
        "kind": "kudos",
        "transport": "email",
        "to_address": "ada@acme.example.com",
        "subject": "You got kudos",
        "text_body": "…",
        "status": "pending",
        "attempts": 0,
    }
    with engine.begin() as connection:
        connection.execute(
            insert(OutboxMessage),
            [
                {**row, "created_at": now - age, "next_attempt_at": now - age},
                {**row, "created_at": now, "next_attempt_at": now},
                {**row, "status": "sent", "created_at": now - 10 * age, "next_attempt_at": now},
            ],
        )
    try:
        result, lines = doctor(base(migrated))
    finally:
        with engine.begin() as connection:
            connection.execute(delete(OutboxMessage))

    assert lines["database"][0] == "ok"
    minutes = int(age.total_seconds() // 60)
    shown = {5: "5 min", 20: "20 min", 120: "2 h"}[minutes]
    assert lines["outbox"][0] == mark
    assert lines["outbox"][1].startswith(f"2 e-mails queued, the oldest for {shown}")
    assert ("kudos outbox deliver" in lines["outbox"][1]) == (mark != "ok")
    assert result.exit_code == (1 if mark == "FAIL" else 0)


# The site's address ---------------------------------------------------------------


class Redirect(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(301)
        self.send_header("Location", self.target + self.path)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """``handler`` answering HTTP on 127.0.0.1; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def redirecting(target: str) -> Iterator[str]:
    """An address (``localhost``) that redirects every request to ``target``."""
    with serving(type("To", (Redirect,), {"target": target})) as port:
        yield f"http://localhost:{port}"


@pytest.fixture
def redirect_to_site(site) -> Iterator[str]:
    """An address that redirects to Kudos (an old name, or http:// to https://)."""
    with redirecting(site) as url:
        yield url


@pytest.mark.one_engine
def test_a_base_url_that_redirects_elsewhere_fails(migrated, site, redirect_to_site):
    result, lines = doctor(base(migrated, KUDOS_BASE_URL=redirect_to_site))

    assert result.exit_code == 1
    assert lines["base URL"] == (
        "FAIL",
        f"KUDOS_BASE_URL {redirect_to_site} redirects to {site}: set KUDOS_BASE_URL to the "
        "address people end up at (links, sign-in and cookies use it)",
    )


@pytest.mark.one_engine
def test_a_redirect_elsewhere_fails_even_where_nothing_answers(migrated):
    nowhere = closed_port_url()
    with redirecting(nowhere) as old_address:
        result, lines = doctor(base(migrated, KUDOS_BASE_URL=old_address))

    assert result.exit_code == 1
    assert lines["base URL"][1].startswith(f"KUDOS_BASE_URL {old_address} redirects to {nowhere}:")


@pytest.mark.one_engine
def test_the_address_people_use_must_lead_to_the_base_url(migrated, site, redirect_to_site):
    leads_there, lines_there = doctor(
        base(migrated, KUDOS_BASE_URL=site), "--url", redirect_to_site
    )
    elsewhere, lines_elsewhere = doctor(
        base(migrated, KUDOS_BASE_URL="http://kudos.invalid"), "--url", redirect_to_site
    )

    assert leads_there.exit_code == 0, leads_there.output
    assert lines_there["base URL"] == ("ok", f"{site}/healthz answers (Kudos, at KUDOS_BASE_URL)")
    assert elsewhere.exit_code == 1
    assert lines_elsewhere["base URL"][1].startswith(
        f"{redirect_to_site} leads to {site}, but KUDOS_BASE_URL is http://kudos.invalid"
    )


# Sign-in ------------------------------------------------------------------------


@pytest.mark.one_engine
def test_a_wrong_client_secret_is_refused_by_the_provider(migrated, provider):
    result, lines = doctor(base(migrated, **oidc_settings(provider.issuer, "not-the-secret")))

    assert result.exit_code == 1
    assert lines["sign-in (OIDC)"] == (
        "FAIL",
        f"{provider.issuer} refuses the client (invalid_client): check KUDOS_OIDC_CLIENT_ID "
        "and KUDOS_OIDC_CLIENT_SECRET against the provider's registration",
    )
    assert "not-the-secret" not in result.output


@pytest.mark.one_engine
def test_an_issuer_that_is_not_the_providers_own_fails(migrated, provider):
    # The provider calls itself 127.0.0.1; tokens it signs would not match.
    other_name = provider.issuer.replace("127.0.0.1", "localhost")

    result, lines = doctor(base(migrated, **oidc_settings(other_name)))

    assert result.exit_code == 1
    assert lines["sign-in (OIDC)"][0] == "FAIL"
    assert f"names the issuer {provider.issuer}, not {other_name}" in lines["sign-in (OIDC)"][1]


@pytest.mark.one_engine
def test_an_unreachable_provider_fails(migrated):
    issuer = closed_port_url()

    result, lines = doctor(base(migrated, **oidc_settings(issuer)))

    assert result.exit_code == 1
    assert lines["sign-in (OIDC)"] == (
        "FAIL",
        f"cannot fetch {issuer}/.well-known/openid-configuration: connection refused",
    )


class HtmlPages(BaseHTTPRequestHandler):
    """A web server that answers every request with an HTML page (a sign-in
    page in front of the provider, or the wrong address), except, with
    ``discovery``, a discovery document naming it issuer and token endpoint."""

    discovery = False
    page = b"<!doctype html><title>Sign in</title><p>Please sign in."

    def do_GET(self) -> None:  # noqa: N802
        if self.discovery and self.path == "/.well-known/openid-configuration":
            issuer = f"http://{self.headers['Host']}"
            document = {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
            }
            self.answer("application/json", json.dumps(document).encode())
        else:
            self.answer("text/html; charset=utf-8", self.page)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.answer("text/html; charset=utf-8", self.page)

    def answer(self, content_type: str, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.one_engine
def test_a_discovery_document_that_is_not_json_is_named_so(migrated):
    with serving(HtmlPages) as port:
        issuer = f"http://127.0.0.1:{port}"
        result, lines = doctor(base(migrated, **oidc_settings(issuer)))

    assert result.exit_code == 1
    assert lines["sign-in (OIDC)"] == (
        "FAIL",
        f"{issuer}/.well-known/openid-configuration is not a discovery document (not JSON)",
    )


@pytest.mark.one_engine
def test_a_token_endpoint_answering_html_cannot_check_the_client_and_warns(migrated):
    with serving(type("Provider", (HtmlPages,), {"discovery": True})) as port:
        issuer = f"http://127.0.0.1:{port}"
        result, lines = doctor(base(migrated, **oidc_settings(issuer)))

    assert result.exit_code == 0, result.output
    assert lines["sign-in (OIDC)"] == (
        "WARN",
        f"{issuer} answers, but {issuer}/token answers HTTP 200 and not JSON as a token "
        "endpoint does: whether it accepts the client cannot be checked, the first sign-in "
        "tells",
    )


# E-mail -------------------------------------------------------------------------


@pytest.mark.one_engine
def test_smtp_up_takes_a_test_message_to_the_address_given(migrated, smtp):
    result, lines = doctor(
        base(migrated, KUDOS_SMTP_URL=smtp.url, KUDOS_MAIL_FROM="Kudos <kudos@acme.example.com>"),
        "--send-test-email",
        "it@acme.example.com",
    )

    assert result.exit_code == 0, result.output
    assert lines["e-mail (SMTP)"] == (
        "ok",
        f"{smtp.url} accepts a connection, and took a test message for it@acme.example.com",
    )
    (message,) = smtp.inbox.messages
    assert message["To"] == "it@acme.example.com"
    assert message["From"] == "Kudos <kudos@acme.example.com>"
    assert "kudos doctor" in message["Subject"]


@pytest.mark.one_engine
def test_smtp_down_fails_without_the_password(migrated, smtp):
    url = f"smtp://kudos:hunter22@127.0.0.1:{smtp.port}"
    smtp.stop()

    result, lines = doctor(base(migrated, KUDOS_SMTP_URL=url))

    assert result.exit_code == 1
    assert lines["e-mail (SMTP)"] == (
        "FAIL",
        f"cannot talk to smtp://kudos:***@127.0.0.1:{smtp.port}: connection refused",
    )
    assert "hunter22" not in result.output


@pytest.mark.one_engine
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("smtp://kudos:hunter22@mail.example.com:abc", "Port could not be cast to integer value"),
        ("smtp://kudos:hunter22@[::1", "Invalid IPv6 URL"),
    ],
    ids=["port-not-a-number", "unclosed-ipv6-address"],
)
def test_an_smtp_url_kudos_cannot_use_is_a_configuration_problem(migrated, url, reason):
    result, lines = doctor(base(migrated, KUDOS_SMTP_URL=url))

    assert result.exit_code == 2, result.output
    assert lines["configuration"][0] == "FAIL"
    problem = next(line.strip()[2:] for line in result.output.splitlines() if "  - " in line)
    assert problem.startswith(
        "KUDOS_SMTP_URL must be an SMTP URL such as smtp://mail.example.com:587?starttls=true, "
        f"not '{url.replace('hunter22', '***')}' ({reason}"
    )
    assert lines["e-mail (SMTP)"] == ("skip", "not checked: KUDOS_SMTP_URL (see configuration)")
    assert "hunter22" not in result.output


@pytest.fixture
def smtp_with_starttls() -> Iterator[str]:
    """An SMTP server as on port 587: it offers STARTTLS, and a login (AUTH)
    only after it. Its TLS has no certificate: the doctor must not get that far."""
    port = free_port()
    controller = Controller(
        Inbox(),
        hostname="127.0.0.1",
        port=port,
        tls_context=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER),
    )
    controller.start()
    yield f"127.0.0.1:{port}"
    controller.stop()


@pytest.mark.one_engine
def test_a_login_offered_only_after_starttls_says_to_add_starttls(migrated, smtp_with_starttls):
    url = f"smtp://kudos:hunter22@{smtp_with_starttls}"

    result, lines = doctor(base(migrated, KUDOS_SMTP_URL=url))

    assert result.exit_code == 1
    assert lines["e-mail (SMTP)"] == (
        "FAIL",
        f"smtp://kudos:***@{smtp_with_starttls} offers a login only after STARTTLS: add "
        "?starttls=true to KUDOS_SMTP_URL",
    )


@pytest.mark.one_engine
def test_a_server_that_offers_no_login_says_so(migrated, smtp):
    # aiosmtpd offers neither STARTTLS nor AUTH unless told to.
    url = f"smtp://kudos:hunter22@127.0.0.1:{smtp.port}"

    result, lines = doctor(base(migrated, KUDOS_SMTP_URL=url))

    assert result.exit_code == 1
    assert lines["e-mail (SMTP)"] == (
        "FAIL",
        f"smtp://kudos:***@127.0.0.1:{smtp.port} offers no login (AUTH): remove the user name "
        "and password from KUDOS_SMTP_URL if it takes mail without one, or use the server's "
        "port for logged-in senders (587 with ?starttls=true, or smtps:// on 465)",
    )


@pytest.mark.one_engine
def test_starttls_asked_of_a_server_without_it_says_where_to_find_it(migrated, smtp):
    result, lines = doctor(base(migrated, KUDOS_SMTP_URL=f"{smtp.url}?starttls=true"))

    assert result.exit_code == 1
    assert lines["e-mail (SMTP)"] == (
        "FAIL",
        f"{smtp.url}?starttls=true offers no STARTTLS: check the port (587 usually has it), or "
        "use smtps:// on 465 (drop ?starttls=true only for a relay on a trusted network that "
        "asks for no login)",
    )


@pytest.mark.one_engine
def test_a_test_message_without_smtp_fails(migrated):
    result, lines = doctor(base(migrated), "--send-test-email", "it@acme.example.com")

    assert result.exit_code == 1
    assert lines["e-mail (SMTP)"] == (
        "FAIL",
        "cannot send a test message: KUDOS_SMTP_URL is not set",
    )


# Rate limits ---------------------------------------------------------------------


@pytest.mark.one_engine
def test_redis_up_then_down(migrated, redis):
    up, lines_up = doctor(base(migrated, KUDOS_RATELIMIT_STORAGE_URL=redis))
    down, lines_down = doctor(
        base(migrated, KUDOS_RATELIMIT_STORAGE_URL=f"redis://127.0.0.1:{free_port()}/0")
    )

    assert up.exit_code == 0, up.output
    assert lines_up["rate limits"] == ("ok", f"{redis} answers")
    assert down.exit_code == 1
    assert lines_down["rate limits"][0] == "FAIL"
    assert "does not answer" in lines_down["rate limits"][1]


# Slack ----------------------------------------------------------------------------


@pytest.mark.one_engine
def test_a_wrong_or_revoked_slack_token_fails(migrated, slack):
    wrong, lines_wrong = doctor(base(migrated, **slack_settings(slack, token="xoxb-not-ours")))
    slack.fail_next("auth.test", "token_revoked")
    revoked, lines_revoked = doctor(base(migrated, **slack_settings(slack)))

    assert wrong.exit_code == revoked.exit_code == 1
    assert lines_wrong["Slack"][1].startswith("Slack refuses the bot token (invalid_auth)")
    assert lines_revoked["Slack"][1].startswith("Slack refuses the bot token (token_revoked)")
    assert [call["token"] for call in slack.calls] == ["xoxb-not-ours", TOKEN]


@pytest.mark.one_engine
def test_a_slack_token_of_another_workspace_fails(migrated, slack):
    result, lines = doctor(base(migrated, **slack_settings(slack, team_id="T0OTHER")))

    assert result.exit_code == 1
    assert lines["Slack"] == (
        "FAIL",
        f"the bot token is for the workspace {TEAM_ID}, but KUDOS_SLACK_TEAM_ID is T0OTHER",
    )
