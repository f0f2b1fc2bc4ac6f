"""E-mail for each kudos, through the outbox and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kudos.db import utcnow
from kudos.outbox.models import OutboxMessage
from kudos.outbox.services import deliver_due
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Value
from tests.smtp import mail_settings


@pytest.fixture
def app_overrides(smtp):
    return mail_settings(smtp)


@pytest.fixture
def people(make, session, signed_in):
    def person(name, email_opt_in):
        someone = make.person(name=name)
        session.add(RecognitionPreference(person=someone, email_opt_in=email_opt_in))
        session.commit()
        return someone

    return {
        "wants_email": person("Eva Mail", True),
        "no_email": person("Noel Quiet", False),
        "undecided": make.person(name="Una Decided"),
    }


def send_from_the_web(browser, session, recipients, message="Thanks for the quick fix!"):
    caring = session.scalar(select(Value.id).where(Value.slug == "caring"))
    response = browser.submit(
        "/kudos/new",
        data={
            "recipients": [str(person.id) for person in recipients],
            "values": [str(caring)],
            "message": message,
            "visibility": "public",
            "action": "send",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def outbox(session):
    session.expire_all()
    return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_only_people_who_chose_email_get_one(browser, session, people):
    send_from_the_web(browser, session, list(people.values()))

    queued = outbox(session)

    assert [message.to_address for message in queued] == [people["wants_email"].email]
    assert queued[0].status == "pending"  # the request only records it


def test_delivery_sends_a_well_formed_html_and_text_email_once(
    browser, runner, session, smtp, people
):
    send_from_the_web(
        browser,
        session,
        [people["wants_email"]],
        message="You rescued the demo <b>twice</b>!\nThank you.",
    )

    first = runner.invoke(args=["outbox", "deliver"])
    second = runner.invoke(args=["outbox", "deliver"])

    assert "1 sent" in first.output
    assert "0 sent" in second.output
    assert len(smtp.inbox.messages) == 1
    message = smtp.inbox.messages[0]
    assert message["To"] == people["wants_email"].email
    assert message["Subject"] == "Ada Lovelace thanked you for Caring"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hi Eva," in text
    assert "You rescued the demo <b>twice</b>!" in text
    assert "https://kudos.acme.example.com/kudos/" in text
    assert "You rescued the demo &lt;b&gt;twice&lt;/b&gt;!" in html
    assert "See it on Kudos" in html
    assert outbox(session)[0].status == "sent"


def test_a_server_that_is_down_keeps_the_message_and_it_is_sent_once_later(
    browser, session, smtp, people, app
):
    send_from_the_web(browser, session, [people["wants_email"]])
    smtp.stop()
    now = utcnow()

    down = deliver_due(session, smtp.url, "kudos@acme.example.com", now=now)

    message = outbox(session)[0]
    assert (down.sent, down.retrying) == (0, 1)
    assert message.status == "pending"
    assert message.attempts == 1
    assert message.last_error
    assert message.next_attempt_at == now + timedelta(seconds=30)

    smtp.start()
    too_soon = deliver_due(
        session, smtp.url, "kudos@acme.example.com", now=now + timedelta(seconds=10)
    )
    later = deliver_due(
        session, smtp.url, "kudos@acme.example.com", now=now + timedelta(seconds=31)
    )
    again = deliver_due(session, smtp.url, "kudos@acme.example.com", now=now + timedelta(minutes=5))

    assert (too_soon.sent, later.sent, again.sent) == (0, 1, 0)
    assert len(smtp.inbox.messages) == 1
    assert outbox(session)[0].status == "sent"


def test_retries_back_off_up_to_an_hour():
    from kudos.outbox.services import backoff

    waits = [backoff(attempt).total_seconds() for attempt in range(1, 10)]

    assert waits[:4] == [30, 60, 120, 240]
    assert max(waits) == 3600


def test_the_same_kudos_is_never_queued_twice(app, session, make, people):
    """A send queues without asking whether its e-mails exist (they cannot:
    the kudos is new), and the outbox itself refuses a second message for
    the same kudos and recipient."""
    from kudos.notifications import kudos_sent

    with app.test_request_context():
        kudos = make.kudos(people["no_email"], [people["wants_email"]])  # queues one
        repeat = session.begin_nested()
        with pytest.raises(IntegrityError):
            kudos_sent(session, kudos)
        repeat.rollback()

    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


@pytest.mark.parametrize("app_overrides", [{}])
def test_without_smtp_nothing_is_queued(browser, session, people, runner):
    send_from_the_web(browser, session, [people["wants_email"]])

    assert outbox(session) == []
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 1
    assert "set KUDOS_SMTP_URL for e-mail" in result.output


def test_a_kudos_deleted_before_its_email_went_out_sends_nothing(
    browser, runner, session, smtp, people
):
    send_from_the_web(browser, session, [people["wants_email"]])
    kudos_id = session.scalar(select(OutboxMessage.dedupe_key)).split(":")[1]

    browser.submit(f"/kudos/{kudos_id}", f"/kudos/{kudos_id}/delete")
    runner.invoke(args=["outbox", "deliver"])

    assert outbox(session) == []
    assert smtp.inbox.messages == []
