"""The send service's rules (the compose page and API arrive with their issue)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos, Recognition, Value
from kudos.recognition.services import DailyLimitReached, KudosRejected, send_kudos

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def send(
    session,
    sender,
    recipients,
    *,
    values=("responsive",),
    message="Thanks!",
    visibility="public",
    now=NOW,
    limit=20,
    key=None,
):
    chosen = list(session.scalars(select(Value.id).where(Value.slug.in_(values))))
    return send_kudos(
        session,
        sender,
        [person.id for person in recipients],
        chosen,
        message,
        visibility,
        now=now,
        zone=ZoneInfo("UTC"),
        daily_limit=limit,
        idempotency_key=key,
    ).kudos


def test_a_kudos_records_one_recognition_per_distinct_recipient(session, make):
    ana, ben, cleo = make.person(), make.person(), make.person()

    kudos = send(session, ana, [ben, cleo, ben], message="  Thank you both!\r\nReally.  ")

    assert kudos.message == "Thank you both!\nReally."
    assert [r.recipient_id for r in kudos.recognitions] == [ben.id, cleo.id]
    assert all(r.sender_id == ana.id and r.created_at == NOW for r in kudos.recognitions)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("nobody", "recipients"),
        ("self", "recipients"),
        ("eleven", "recipients"),
        ("inactive", "recipients"),
        ("empty", "message"),
        ("long", "message"),
        ("control", "message"),
        ("no-values", "values"),
        ("four-values", "values"),
        ("bad-visibility", "visibility"),
    ],
)
def test_rule_breaking_kudos_are_rejected_and_nothing_is_written(session, make, case, field):
    ana, ben = make.person(), make.person()
    recipients, values, message, visibility = [ben], ("responsive",), "Thanks", "public"
    if case == "nobody":
        recipients = []
    elif case == "self":
        recipients = [ana]
    elif case == "eleven":
        recipients = [make.person() for _ in range(11)]
    elif case == "inactive":
        recipients = [make.person(active=False)]
    elif case == "empty":
        message = "  \n "
    elif case == "long":
        message = "x" * 1001
    elif case == "control":
        message = "null\x00byte"
    elif case == "no-values":
        values = ()
    elif case == "four-values":
        values = ("responsive", "caring", "mentor", "ownership")
    elif case == "bad-visibility":
        visibility = "everyone"

    with pytest.raises(KudosRejected) as caught:
        send(session, ana, recipients, values=values, message=message, visibility=visibility)

    assert field in caught.value.fields
    assert session.scalar(select(func.count()).select_from(Kudos)) == 0


def test_privacy_wins_over_the_senders_choice(session, make):
    ana, ben, cleo = make.person(), make.person(), make.person()
    session.add(RecognitionPreference(person=cleo, audience="private"))
    session.flush()

    kudos = send(session, ana, [ben, cleo], visibility="public")

    assert (kudos.requested_visibility, kudos.visibility) == ("public", "private")


def test_the_daily_limit_counts_the_organisations_day(session, make):
    ana, ben = make.person(), make.person()
    for minute in range(3):
        send(session, ana, [ben], now=NOW + timedelta(minutes=minute), limit=3)

    with pytest.raises(DailyLimitReached) as caught:
        send(session, ana, [ben], now=NOW + timedelta(hours=1), limit=3)
    assert caught.value.status == 429

    tomorrow = NOW + timedelta(days=1)
    assert send(session, ana, [ben], now=tomorrow, limit=3).id


def test_the_same_idempotency_key_gives_the_same_kudos(session, make):
    ana, ben = make.person(), make.person()

    first = send(session, ana, [ben], key="form-123")
    second = send(session, ana, [ben], key="form-123")

    assert first.id == second.id
    assert session.scalar(select(func.count()).select_from(Recognition)) == 1
