"""Log lines cannot be forged with text from requests."""

from __future__ import annotations

import io
import logging

import pytest

from tests.oidc_provider import KUDOS_URL, free_port

FORGED = "access_denied\r\n2026-11-30 12:00:00 WARNING kudos.auth admin signed in\u2028x\x00"


@pytest.fixture
def app_overrides():
    # Configured for sign-in; the provider is never reached on these paths.
    return {
        "OIDC_ISSUER": f"http://127.0.0.1:{free_port()}",
        "OIDC_CLIENT_ID": "x",
        "OIDC_CLIENT_SECRET": "y",
        "BASE_URL": KUDOS_URL,
    }


@pytest.fixture
def log_output(app):
    """A real handler on the root logger, as a server's would be."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    yield stream
    root.removeHandler(handler)
    root.level = level


def test_a_forged_error_on_the_callback_is_one_escaped_line(client, log_output, caplog):
    response = client.get("/auth/callback", query_string={"error": FORGED, "state": "s"})

    assert response.status_code == 401
    lines = log_output.getvalue().splitlines()
    assert lines == [
        "WARNING kudos.auth sign-in failed: provider_error (access_denied\\r\\n"
        "2026-11-30 12:00:00 WARNING kudos.auth admin signed in\\u2028x\\x00)"
    ]
    assert [record.getMessage() for record in caplog.records] == [lines[0].split(" ", 2)[2]]


@pytest.mark.usefixtures("app")
def test_every_logger_escapes_its_arguments_and_its_message(log_output):
    logging.getLogger("kudos.anything").warning("claim %s", "a\nFAKE b")
    logging.getLogger("werkzeug").info(f"path {'/x%0A'.replace('%0A', chr(10))}FAKE")

    assert log_output.getvalue().splitlines() == [
        "WARNING kudos.anything claim a\\nFAKE b",
        "INFO werkzeug path /x\\nFAKE",
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
