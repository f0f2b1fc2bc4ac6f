"""`kudos summaries send`: one digest per manager through the outbox and a real
SMTP server (aiosmtpd), sent once however often the command runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from kudos.outbox.models import OutboxMessage
from kudos.preferences.models import RecognitionPreference
from tests.smtp import mail_settings


@pytest.fixture
def app_overrides(smtp):
    return mail_settings(smtp)


@pytest.fixture
def org(make, session):
    finance = make.department("Finance")
    maya = make.person(name="Maya Manager", email="maya@acme.example.com")
    sam = make.person(name="Sam Quiet", manager=maya)
    tom = make.person(name="Tom <b>Busy</b>", manager=maya)
    session.add(RecognitionPreference(person=sam, audience="private"))
    lonely = make.person(name="Lonely Lead", email="lonely@acme.example.com")
    left = make.person(name="Left Report", manager=lonely, active=False)
    gone = make.person(name="Gone Manager", email="gone@acme.example.com", active=False)
    make.person(name="Orphan", manager=gone)
    fay = make.person(name="Fay Finance", department=finance)
    make.kudos(fay, [tom], at=datetime(2026, 10, 12, tzinfo=UTC))
    session.commit()
    return {"maya": maya, "sam": sam, "tom": tom, "lonely": lonely, "left": left}


def test_each_manager_gets_one_digest_however_often_it_runs(runner, session, smtp, org):
    first = runner.invoke(args=["summaries", "send", "--month", "2026-10"])
    second = runner.invoke(args=["summaries", "send", "--month", "2026-10"])
    delivered = runner.invoke(args=["outbox", "deliver"])
    third = runner.invoke(args=["summaries", "send", "--month", "2026-10"])
    again = runner.invoke(args=["outbox", "deliver"])

    assert first.exit_code == 0, first.output
    assert "1 summaries queued, 0 already queued" in first.output
    assert "0 summaries queued, 1 already queued" in second.output
    assert "0 summaries queued, 1 already queued" in third.output
    assert "1 sent" in delivered.output
    assert "0 sent" in again.output
    # Only Maya: Lonely's one report has left, Gone has left himself.
    assert [message["To"] for message in smtp.inbox.messages] == ["maya@acme.example.com"]
    message = smtp.inbox.messages[0]
    assert message["Subject"] == "Your team's kudos in October 2026"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hi Maya," in text
    assert "Recognitions received: 1 (+1 on the month before)" in text
    assert "Sam Quiet (never recognised)" in text
    assert "Sam prefers private notes" in text
    assert "Departments that thanked your team: Finance (1)" in text
    assert "https://kudos.acme.example.com/manager/summary?month=2026-10" in text
    assert "<b>Busy</b>" not in html
    assert "See the whole summary" in html
    session.expire_all()
    keys = session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "summary"))
    assert list(keys) == [f"summary:2026-10:{org['maya'].id}"]


def test_another_month_is_another_digest(runner, smtp, org):
    runner.invoke(args=["summaries", "send", "--month", "2026-09"])
    runner.invoke(args=["summaries", "send", "--month", "2026-10"])
    runner.invoke(args=["outbox", "deliver"])

    assert [message["Subject"] for message in smtp.inbox.messages] == [
        "Your team's kudos in September 2026",
        "Your team's kudos in October 2026",
    ]


def test_a_bad_month_is_refused(runner, org):
    result = runner.invoke(args=["summaries", "send", "--month", "2026-13"])

    assert result.exit_code == 2
    assert "is not a month" in result.output


def test_without_email_nothing_is_queued(app, runner, session, org):
    app.config["SMTP_URL"] = None

    result = runner.invoke(args=["summaries", "send", "--month", "2026-10"])

    assert result.exit_code == 1
    assert "e-mail is off" in result.output
    session.expire_all()
    assert session.scalars(select(OutboxMessage)).all() == []
