"""One bad message never stops the outbox; header values never hold line breaks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kudos.db import utcnow
from kudos.outbox import services
from kudos.outbox.models import OutboxMessage
from kudos.outbox.services import deliver_due, queue_email
from tests.smtp import mail_settings

MAIL_FROM = "Kudos <kudos@acme.example.com>"


@pytest.fixture
def app_overrides(smtp):
    return mail_settings(smtp)


def queued_row(session, *, to_address: str, subject: str) -> OutboxMessage:
    """A row as older code, or anything but queue_email, could have left it."""
    message = OutboxMessage(
        kind="kudos",
        to_address=to_address,
        subject=subject,
        text_body=f"Hello {to_address}",
        html_body=None,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    session.add(message)
    session.commit()
    return message


def good(session, name: str) -> OutboxMessage:
    return queued_row(session, to_address=f"{name}@acme.example.com", subject=f"Hi {name}")


def delivered_to(smtp) -> list[str]:
    return [message["To"] for message in smtp.inbox.messages]


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r", "\u2028", "\x85", "\x0b", "\x1c"])
def test_a_line_break_in_a_header_is_cleaned_when_building_and_adds_no_header(
    session, smtp, line_break
):
    good(session, "first")
    injected = queued_row(
        session,
        to_address="eva@acme.example.com",
        subject=f"Ann{line_break}Bcc: mallory@evil.example{line_break} thanked you",
    )
    good(session, "last")

    report = deliver_due(session, smtp.url, MAIL_FROM, now=utcnow())

    session.expire_all()
    assert report.sent == 3
    assert injected.status == "sent"
    assert delivered_to(smtp) == [
        "first@acme.example.com",
        "eva@acme.example.com",
        "last@acme.example.com",
    ]
    sent = smtp.inbox.messages[1]
    assert sent["Bcc"] is None
    assert sent["Subject"] == "Ann Bcc: mallory@evil.example  thanked you"


def test_any_error_while_building_one_message_fails_only_that_one(session, smtp, monkeypatch):
    good(session, "first")
    broken = good(session, "broken")
    good(session, "last")
    build = services._email

    def build_or_break(message, mail_from):
        if message.id == broken.id:
            raise LookupError("unknown encoding: x-kudos")
        return build(message, mail_from)

    monkeypatch.setattr(services, "_email", build_or_break)

    report = deliver_due(session, smtp.url, MAIL_FROM, now=utcnow())

    session.expire_all()
    assert delivered_to(smtp) == ["first@acme.example.com", "last@acme.example.com"]
    assert (report.sent, report.failed) == (2, 1)
    assert broken.status == "failed"
    assert broken.last_error == "LookupError: unknown encoding: x-kudos"


def test_a_display_name_with_a_line_break_is_queued_on_one_line(app, session):
    with app.app_context():
        message = queue_email(
            session,
            kind="kudos",
            to_address="eva@acme.example.com\r\nBcc: mallory@evil.example",
            subject="Ann\r\nBcc: mallory@evil.example\u2028thanked you",
            text_body="Hello",
            html_body=None,
            now=utcnow(),
        )

    stored = session.scalars(select(OutboxMessage).where(OutboxMessage.id == message.id)).one()
    assert stored.subject == "Ann Bcc: mallory@evil.example thanked you"
    assert stored.to_address == "eva@acme.example.com Bcc: mallory@evil.example"
