"""Logs: lines cannot be forged with text from requests; one access line per
request with a request id, which the answer and the error pages repeat; JSON
lines with ``KUDOS_LOG_FORMAT=json``; and no secret in any line of a run."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import config
from kudos import logs
from kudos.auth.tokens import create_token
from kudos.db import utcnow
from tests.conftest import sign_in
from tests.oidc_provider import KUDOS_URL, free_port
from tests.secrets_in_logs import SECRETS, find_secrets

FORGED = "access_denied\r\n2026-11-30 12:00:00 WARNING kudos.auth admin signed in\u2028x\x00"
GENERATED_ID = re.compile(r"[0-9a-f]{16}")


@pytest.fixture
def app_overrides():
    # Configured for sign-in; the provider is never reached on these paths.
    return {
        "OIDC_ISSUER": f"http://127.0.0.1:{free_port()}",
        "OIDC_CLIENT_ID": "x",
        "OIDC_CLIENT_SECRET": "y",
        "BASE_URL": KUDOS_URL,
    }


def root_handler(formatter: logging.Formatter) -> Iterator[io.StringIO]:
    """A real handler on the root logger, as a server's would be."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    yield stream
    root.removeHandler(handler)
    root.level = level


@pytest.fixture
def log_output(app):
    yield from root_handler(logging.Formatter("%(levelname)s %(name)s %(message)s"))


@pytest.fixture
def json_log(app) -> Iterator[Callable[[], list[dict]]]:
    """The JSON lines written so far, each parsed on its own."""
    handler = root_handler(logs.formatter("json"))
    stream = next(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    next(handler, None)


@pytest.fixture
def boom(app, signed_in):
    """A view that fails, answered with the 500 page as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():  # pragma: no cover - the body is the point
        raise RuntimeError("kaboom")


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "kudos.request"]


# Forged lines -------------------------------------------------------------------


def test_a_forged_error_on_the_callback_is_one_escaped_line(client, log_output, caplog):
    response = client.get("/auth/callback", query_string={"error": FORGED, "state": "s"})

    assert response.status_code == 401
    lines = log_output.getvalue().splitlines()
    assert lines[0] == (
        "WARNING kudos.auth sign-in failed: provider_error (access_denied\\r\\n"
        "2026-11-30 12:00:00 WARNING kudos.auth admin signed in\\u2028x\\x00)"
    )
    assert lines[1].startswith("INFO kudos.request GET /auth/callback 401 ")
    assert len(lines) == 2
    assert caplog.records[0].getMessage() == lines[0].split(" ", 2)[2]


@pytest.mark.usefixtures("app")
def test_every_logger_escapes_its_arguments_and_its_message(log_output):
    logging.getLogger("kudos.anything").warning("claim %s", "a\nFAKE b")
    logging.getLogger("werkzeug").info(f"path {'/x%0A'.replace('%0A', chr(10))}FAKE")

    assert log_output.getvalue().splitlines() == [
        "WARNING kudos.anything claim a\\nFAKE b",
        "INFO werkzeug path /x\\nFAKE",
    ]


@pytest.mark.usefixtures("app")
def test_werkzeugs_request_lines_lose_their_query_string(log_output):
    # As werkzeug's development server (``kudos demo``) logs each request.
    logging.getLogger("werkzeug").info(
        '127.0.0.1 - - [01/Dec/2026 06:36:29] "%s" %s %s',
        "\x1b[32mGET /auth/callback?code=the-code&state=the-state HTTP/1.1\x1b[0m",
        "302",
        "-",
    )

    assert log_output.getvalue().splitlines() == [
        'INFO werkzeug 127.0.0.1 - - [01/Dec/2026 06:36:29] "\\x1b[32mGET /auth/callback '
        'HTTP/1.1\\x1b[0m" 302 -'
    ]


@pytest.mark.usefixtures("app")
def test_tracebacks_keep_their_lines(log_output):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("kudos").exception("failed")

    lines = log_output.getvalue().splitlines()
    assert lines[0] == "ERROR kudos failed"
    assert lines[-1] == "ValueError: boom"


# JSON lines and the access line -------------------------------------------------


def test_json_lines_carry_the_request_id_and_no_query_string(client, json_log):
    response = client.get(
        "/auth/callback?error=server_error&code=the-oidc-code-123456&state=the-state-abcdef"
    )

    assert response.status_code == 401
    request_id = response.headers["X-Request-Id"]
    assert GENERATED_ID.fullmatch(request_id)
    warning, access = json_log()  # one JSON object per line, nothing else
    assert warning["logger"] == "kudos.auth"
    assert warning["level"] == "WARNING"
    assert warning["message"] == "sign-in failed: provider_error (server_error)"
    assert warning["request_id"] == request_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", warning["time"])
    assert access["level"] == "INFO"
    assert access["request_id"] == request_id
    assert {key: access[key] for key in ("method", "path", "endpoint", "status")} == {
        "method": "GET",
        "path": "/auth/callback",
        "endpoint": "auth.callback",
        "status": 401,
    }
    assert access["duration_ms"] >= 0
    assert access["person_id"] is None
    assert access["message"].startswith("GET /auth/callback 401 ")
    text = json.dumps(json_log())
    assert "the-oidc-code" not in text
    assert "the-state" not in text
    assert "code=" not in text


def test_outside_a_request_a_line_has_no_request_id(json_log):
    logging.getLogger("kudos.cli").warning("nothing to do")

    (line,) = json_log()
    assert line.keys() == {"time", "level", "logger", "message"}


def test_the_access_line_names_the_person_by_id_only(client, make, json_log):
    person = make.person(name="Grace Hopper", email="grace@acme.example.com")
    sign_in(client, person)
    client.get("/")
    _, raw = create_token(make.session, person, "script", now=utcnow())
    make.session.commit()
    client.get("/api/v1/values", headers={"Authorization": f"Bearer {raw}"})

    page, api = access_lines(json_log())
    assert page["person_id"] == person.id
    assert api["person_id"] == person.id
    assert api["endpoint"] == "api.list_values"
    text = json.dumps(json_log())
    assert "grace" not in text.lower()
    assert "Hopper" not in text


def test_a_404_page_quotes_the_request_id_of_its_access_line(client, json_log):
    response = client.get("/no-such-page?cursor=abc")

    assert response.status_code == 404
    request_id = response.headers["X-Request-Id"]
    page = response.get_data(as_text=True)
    assert f"If you contact support, quote this id: <code>{request_id}</code>" in page
    (access,) = access_lines(json_log())
    assert access["request_id"] == request_id
    assert access["status"] == 404
    assert access["path"] == "/no-such-page"
    assert access["endpoint"] is None


def test_a_sign_in_problem_page_quotes_the_request_id(client):
    response = client.get("/auth/callback?error=access_denied")  # no provider set up here

    request_id = response.headers["X-Request-Id"]
    assert f"quote this id: <code>{request_id}</code>" in response.get_data(as_text=True)


def test_a_failed_statement_never_shows_its_values(app):
    """A database error's text (what a logged traceback shows) has the SQL,
    never the values: they may be a kudos message or a token's hash."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from kudos.extensions import db

    message = "a private thank-you that must not reach the logs"
    with app.app_context(), pytest.raises(DBAPIError) as failed:
        db.session.execute(
            text("SELECT no_such_column FROM kudos WHERE message = :m"), {"m": message}
        )

    assert "no_such_column" in str(failed.value)
    assert message not in str(failed.value)


@pytest.mark.usefixtures("boom")
def test_a_500_page_quotes_the_request_id_and_the_traceback_is_one_line(client, json_log):
    response = client.get("/boom")

    assert response.status_code == 500
    request_id = response.headers["X-Request-Id"]
    assert f"quote this id: <code>{request_id}</code>" in response.get_data(as_text=True)
    error, access = json_log()
    assert error["level"] == "ERROR"
    assert error["request_id"] == request_id
    assert error["exception"].startswith("Traceback (most recent call last):")
    assert error["exception"].endswith("RuntimeError: kaboom")
    assert (access["request_id"], access["status"], access["endpoint"]) == (
        request_id,
        500,
        "boom",
    )


def test_an_exception_no_handler_answers_still_gets_its_access_line(
    app, client, signed_in, json_log
):
    # PROPAGATE_EXCEPTIONS (the tests' default): the exception leaves Flask.
    @app.get("/boom")
    def boom():  # pragma: no cover - the body is the point
        raise RuntimeError("kaboom")

    with pytest.raises(RuntimeError):
        client.get("/boom")

    (access,) = access_lines(json_log())
    assert (access["status"], access["path"], access["endpoint"]) == (500, "/boom", "boom")
    assert access["person_id"] == signed_in.id
    assert GENERATED_ID.fullmatch(access["request_id"])


@pytest.mark.usefixtures("boom")
def test_api_errors_keep_their_body_and_carry_the_id_in_the_header(client):
    missing = client.get("/api/v1/nothing-here")
    unauthorized = client.get("/api/v1/values")

    for response in (missing, unauthorized):
        assert GENERATED_ID.fullmatch(response.headers["X-Request-Id"])
        assert response.json.keys() == {"error"}
        assert response.json["error"].keys() <= {"code", "message", "fields"}
    assert missing.headers["X-Request-Id"] != unauthorized.headers["X-Request-Id"]


@pytest.mark.parametrize(
    "incoming",
    ["abc\r\nSet-Cookie: x=1", "a" * 65, "<script>alert(1)</script>", "id with spaces", ""],
)
def test_an_unsafe_incoming_request_id_is_replaced(client, json_log, incoming):
    # Set in the environment: the test client itself refuses a CR or LF.
    response = client.get("/login", environ_overrides={"HTTP_X_REQUEST_ID": incoming})

    request_id = response.headers["X-Request-Id"]
    assert GENERATED_ID.fullmatch(request_id)
    (access,) = access_lines(json_log())
    assert access["request_id"] == request_id
    assert response.headers.getlist("X-Request-Id") == [request_id]


def test_a_safe_incoming_request_id_is_kept(client, json_log):
    incoming = "edge-01.Req_" + "7" * 52  # 64 characters

    response = client.get("/no-such-page", headers={"X-Request-Id": incoming})

    assert response.headers["X-Request-Id"] == incoming
    assert f"<code>{incoming}</code>" in response.get_data(as_text=True)
    (access,) = access_lines(json_log())
    assert access["request_id"] == incoming


def test_text_lines_are_as_before_with_a_compact_access_line(client):
    for stream in root_handler(logs.formatter("text")):
        client.get("/no-such-page?state=abcdef")
        (line,) = stream.getvalue().splitlines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO kudos.request "
        r"GET /no-such-page 404 \d+\.\d ms endpoint=- person=-",
        line,
    )


# The setting ------------------------------------------------------------------


@pytest.mark.one_engine
def test_the_log_format_is_text_json_or_a_configuration_problem():
    def load(**environ: str) -> dict:
        return config.load(environ, instance_path="/srv/kudos/instance")

    assert load()["LOG_FORMAT"] == "text"
    assert load(KUDOS_LOG_FORMAT="json")["LOG_FORMAT"] == "json"
    with pytest.raises(config.ConfigError) as raised:
        load(KUDOS_LOG_FORMAT="xml", KUDOS_TIMEZONE="Mars/Olympus")
    assert len(raised.value.problems) == 2
    assert "KUDOS_LOG_FORMAT must be text or json, not 'xml'" in raised.value.problems


@pytest.mark.one_engine
def test_a_server_logs_json_to_stderr_when_asked(tmp_path):
    """In a process of its own, where nothing has set up logging before
    Kudos: its records go to stderr, one JSON object a line, stdout untouched."""
    serve_one = (
        "from kudos import create_app; "
        "create_app().test_client()"
        ".get('/healthz?code=not-logged', headers={'X-Request-Id': 'r-1'})"
    )
    environ = {
        **os.environ,
        "KUDOS_LOG_FORMAT": "json",
        "KUDOS_DATABASE_URL": f"sqlite:///{tmp_path / 'kudos.sqlite3'}",
        "KUDOS_SECRET_KEY": "a-secret-key-long-enough-for-kudos-0123456789",
        "KUDOS_BASE_URL": "https://kudos.example.com",
    }
    ran = subprocess.run(
        [sys.executable, "-c", serve_one],
        capture_output=True,
        text=True,
        env=environ,
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
    )

    records = [json.loads(line) for line in ran.stderr.splitlines()]
    (access,) = [record for record in records if record["logger"] == "kudos.request"]
    assert (access["path"], access["status"], access["request_id"]) == ("/healthz", 200, "r-1")
    assert access["level"] == "INFO"
    assert "not-logged" not in ran.stderr
    assert ran.stdout == ""


# No secret in the logs ------------------------------------------------------------


@pytest.mark.one_engine
def test_the_checker_finds_a_recorded_secret_in_a_line():
    token = "kudos_" + "Abc123_-" * 5
    message = "Merci Zoë, “parfait”!"
    lines = [
        '{"message": "GET /api/v1/kudos 200"}',
        f'{{"message": "Authorization: Bearer {token}"}}',
        json.dumps({"message": f"sent: {message}"}),  # non-ASCII escaped by JSON
        '{"message": "short x, plain 999999999999999"}',
    ]
    recorded = {token: "API token", message: "kudos message", "x": "short", "9" * 14: "plain"}

    found = find_secrets(lines, recorded)

    assert [(number, kind) for number, kind, _ in found] == [
        (2, "API token"),
        (3, "kudos message"),
    ]
    assert find_secrets(lines[:1], {token: "API token"}) == []


def test_the_secrets_of_a_test_are_recorded(client, make):
    ana, bo = make.person(), make.person()
    make.kudos(ana, [bo], message="Thanks for untangling the VPN!")
    _, raw = create_token(make.session, ana, "bot", now=utcnow() - timedelta(hours=1))
    make.session.commit()
    sign_in(client, ana)
    client.get("/")

    assert SECRETS["Thanks for untangling the VPN!"] == "kudos message"
    assert raw.removeprefix("kudos_") in SECRETS
    assert SECRETS[client.get_cookie("session").value].startswith("cookie")
