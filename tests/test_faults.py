"""What the fault tests (test_faults_pg.py) rely on, pinned on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kudos import create_app
from kudos.db import utcnow
from kudos.extensions import db
from kudos.outbox.services import deliver_due, queue_email
from tests.conftest import TEST_SECRET_KEY

MAIL_FROM = "Kudos <kudos@acme.example.com>"


def queue(session, n, now):  # noqa: ANN001, ANN201
    message = queue_email(
        session,
        kind="fault",
        to_address=f"person{n}@acme.example.com",
        subject=f"Fault {n}",
        text_body="Hello",
        html_body=None,
        now=now,
    )
    session.commit()
    return message


def test_a_message_sent_again_after_a_lost_reply_keeps_its_message_id(session, smtp):
    # The worker dies after the SMTP server took the message and before it
    # was marked sent: the next run sends it again, and the receiving mail
    # system must be able to tell it is the same message.
    now = utcnow()
    first, second = queue(session, 1, now), queue(session, 2, now)
    deliver_due(session, smtp.url, MAIL_FROM, now=now)
    first.status = second.status = "pending"  # as if the worker had been killed
    session.commit()

    deliver_due(session, smtp.url, MAIL_FROM, now=now + timedelta(minutes=1))

    ids = {}
    for message in smtp.inbox.messages:
        ids.setdefault(str(message["Subject"]), []).append(str(message["Message-ID"]))
    assert len(ids["Fault 1"]) == len(ids["Fault 2"]) == 2
    assert len(set(ids["Fault 1"])) == len(set(ids["Fault 2"])) == 1
    assert ids["Fault 1"][0] != ids["Fault 2"][0]
    assert ids["Fault 1"][0].endswith("@acme.example.com>")


@pytest.fixture
def own_app(database_url):  # noqa: ANN001, ANN201
    """An app on its own engine (not the test's rolled-back connection), so
    that its connections can be made to fail."""
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": database_url})
    yield app
    db.engine(app).dispose()


def test_the_database_going_away_after_the_answer_is_ready_keeps_the_answer(own_app, monkeypatch):
    # PostgreSQL stopped after the view had its answer but before the
    # request's session was closed: closing it (a ROLLBACK) fails. That
    # failure used to escape Flask, and gunicorn answered with its own HTML
    # "Internal Server Error" page, even for a kudos that had been saved.
    dialect = db.engine(own_app).dialect
    lost = dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")

    def rollback_fails(_connection):  # noqa: ANN001, ANN202
        raise lost

    client = own_app.test_client()
    assert client.get("/healthz").status_code == 200  # connected, pool warm
    monkeypatch.setattr(dialect, "do_rollback", rollback_fails)
    monkeypatch.setattr(dialect, "is_disconnect", lambda *_args: True)
    answer = client.get("/healthz")  # opens a transaction and leaves it to the teardown
    monkeypatch.undo()

    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "database": "ok"}
    # The lost connection left the pool; the next request gets a fresh
    # session on a new connection and works.
    assert db.engine(own_app).pool.checkedout() == 0
    assert client.get("/healthz").status_code == 200
