"""The daily limit counts sends, not the kudos still there: deleting a kudos
in its first 15 minutes gives no send back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kudos.recognition.models import DeletedSend, Kudos, Value
from kudos.recognition.services import (
    SENDS_KEPT,
    DailyLimitReached,
    delete_kudos,
    send_kudos,
)
from tests.test_compose import send as send_from_page

UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LIMIT = 3


def send(session, sender, recipient, *, now, zone=UTC_ZONE, key=None, message="Thanks!"):
    value = session.scalar(select(Value.id).where(Value.slug == "responsive"))
    return send_kudos(
        session,
        sender,
        [recipient.id],
        [value],
        message,
        "public",
        now=now,
        zone=zone,
        daily_limit=LIMIT,
        idempotency_key=key,
    )


def test_deleting_a_kudos_gives_no_send_back(session, make):
    ana, ben = make.person(), make.person()
    first = send(session, ana, ben, now=NOW).kudos
    send(session, ana, ben, now=NOW + timedelta(minutes=1))  # LIMIT - 1 sent
    # Deleted at exactly the end of its 15 minutes: still allowed, still counted.
    delete_kudos(session, ana, first, now=NOW + timedelta(minutes=15), zone=UTC_ZONE)

    assert send(session, ana, ben, now=NOW + timedelta(minutes=16)).created  # the LIMIT-th
    with pytest.raises(DailyLimitReached) as caught:
        send(session, ana, ben, now=NOW + timedelta(minutes=17))
    assert caught.value.status == 429
    assert session.scalar(select(func.count()).select_from(Kudos)) == LIMIT - 1


def test_other_senders_keep_their_own_count(session, make):
    ana, ben, cleo = make.person(), make.person(), make.person()
    for minute in range(LIMIT):
        send(session, ana, ben, now=NOW + timedelta(minutes=minute))

    assert send(session, cleo, ben, now=NOW + timedelta(minutes=5)).created
    with pytest.raises(DailyLimitReached):
        send(session, ana, ben, now=NOW + timedelta(minutes=5))


def test_every_deleted_send_of_the_day_counts_and_only_the_senders_own(session, make):
    ana, ben, cleo = make.person(), make.person(), make.person()
    # Cleo's deleted sends are hers: they never count against Ana.
    for minute in range(LIMIT):
        deleted = send(session, cleo, ben, now=NOW + timedelta(minutes=minute)).kudos
        delete_kudos(session, cleo, deleted, now=NOW + timedelta(minutes=minute), zone=UTC_ZONE)
    # Ana deletes twice: the second deletion keeps the first one counted.
    for minute in range(LIMIT - 1):
        deleted = send(session, ana, ben, now=NOW + timedelta(minutes=minute)).kudos
        delete_kudos(session, ana, deleted, now=NOW + timedelta(minutes=minute), zone=UTC_ZONE)

    assert send(session, ana, ben, now=NOW + timedelta(minutes=5)).created  # the LIMIT-th
    with pytest.raises(DailyLimitReached):
        send(session, ana, ben, now=NOW + timedelta(minutes=6))


def test_a_send_deleted_at_local_midnight_counts_for_the_new_day(session, make):
    zone = ZoneInfo("America/Los_Angeles")
    ana, ben = make.person(), make.person()
    midnight = datetime(2026, 11, 24, 0, 0, tzinfo=zone).astimezone(UTC)
    for _ in range(LIMIT - 1):
        send(session, ana, ben, now=midnight - timedelta(hours=1), zone=zone)
    at_midnight = send(session, ana, ben, now=midnight, zone=zone).kudos
    delete_kudos(session, ana, at_midnight, now=midnight, zone=zone)

    # The day before midnight has one send left; the kudos deleted at midnight is the new day's.
    assert send(session, ana, ben, now=midnight - timedelta(seconds=1), zone=zone).created
    with pytest.raises(DailyLimitReached) as caught:
        send(session, ana, ben, now=midnight - timedelta(seconds=1), zone=zone)
    assert caught.value.retry_after == 1  # until midnight in Los Angeles, not in UTC


def test_deleted_sends_exactly_two_days_old_are_kept(session, make):
    ana, ben = make.person(), make.person()
    first = send(session, ana, ben, now=NOW).kudos
    delete_kudos(session, ana, first, now=NOW, zone=UTC_ZONE)
    later = send(session, ana, ben, now=NOW + SENDS_KEPT).kudos
    delete_kudos(session, ana, later, now=NOW + SENDS_KEPT, zone=UTC_ZONE)

    assert session.scalar(select(func.count()).select_from(DeletedSend)) == 2


def test_an_idempotent_replay_is_not_a_second_send(session, make):
    ana, ben = make.person(), make.person()
    first = send(session, ana, ben, now=NOW, key="form-1")
    replay = send(session, ana, ben, now=NOW + timedelta(seconds=5), key="form-1")
    assert (replay.kudos.id, replay.created) == (first.kudos.id, False)

    # Two more new kudos reach the limit: the replay did not use one up.
    send(session, ana, ben, now=NOW + timedelta(minutes=1))
    send(session, ana, ben, now=NOW + timedelta(minutes=2))
    with pytest.raises(DailyLimitReached):
        send(session, ana, ben, now=NOW + timedelta(minutes=3))
    # A replay past the limit still answers with the kudos it made.
    assert send(session, ana, ben, now=NOW + timedelta(minutes=4), key="form-1").kudos.id == (
        first.kudos.id
    )


@pytest.mark.parametrize("zone_name", ["Pacific/Auckland", "America/Los_Angeles"])
def test_the_day_is_the_organisations_day_when_deleting_too(session, make, zone_name):
    zone = ZoneInfo(zone_name)
    ana, ben = make.person(), make.person()
    last_minute = datetime(2026, 11, 23, 23, 59, tzinfo=zone).astimezone(UTC)
    midnight = datetime(2026, 11, 24, 0, 0, tzinfo=zone).astimezone(UTC)

    early = send(session, ana, ben, now=last_minute - timedelta(minutes=5), zone=zone).kudos
    send(session, ana, ben, now=last_minute - timedelta(minutes=4), zone=zone)
    delete_kudos(session, ana, early, now=last_minute - timedelta(minutes=1), zone=zone)
    send(session, ana, ben, now=last_minute, zone=zone)  # the 3rd send of the day at 23:59
    with pytest.raises(DailyLimitReached):
        send(session, ana, ben, now=last_minute + timedelta(seconds=59), zone=zone)

    # Local midnight (a different UTC date in neither zone): a new day.
    today = send(session, ana, ben, now=midnight, zone=zone).kudos
    delete_kudos(session, ana, today, now=midnight + timedelta(minutes=1), zone=zone)
    send(session, ana, ben, now=midnight + timedelta(minutes=2), zone=zone)
    send(session, ana, ben, now=midnight + timedelta(minutes=3), zone=zone)
    with pytest.raises(DailyLimitReached):
        send(session, ana, ben, now=midnight + timedelta(minutes=4), zone=zone)


def test_old_deleted_sends_are_forgotten(session, make):
    ana, ben, cat = make.person(), make.person(), make.person()
    early = send(session, ana, ben, now=NOW).kudos
    delete_kudos(session, ana, early, now=NOW, zone=UTC_ZONE)
    send(session, cat, ben, now=NOW)  # someone else's stay
    cats = send(session, cat, ben, now=NOW).kudos
    delete_kudos(session, cat, cats, now=NOW, zone=UTC_ZONE)
    later = NOW + SENDS_KEPT + timedelta(minutes=1)
    again = send(session, ana, ben, now=later).kudos
    delete_kudos(session, ana, again, now=later, zone=UTC_ZONE)

    rows = session.execute(select(DeletedSend.sender_id, DeletedSend.sent_at)).all()
    assert sorted((sender, moment.astimezone(UTC)) for sender, moment in rows) == sorted(
        [(ana.id, later), (cat.id, NOW)]
    )


@pytest.fixture
def app_overrides():
    return {"DAILY_KUDOS_LIMIT": 2, "TIMEZONE": "America/Los_Angeles"}


def test_send_delete_send_from_the_pages_gets_a_429(browser, session, signed_in, make):
    grace = make.person(name="Grace Hopper")
    assert send_from_page(browser, session, [grace], message="First").status_code == 302
    first = session.scalars(select(Kudos).where(Kudos.message == "First")).one()
    csrf = browser.csrf_token(f"/kudos/{first.id}")
    assert (
        browser.client.post(f"/kudos/{first.id}/delete", data={"csrf_token": csrf}).status_code
        == 302
    )
    assert session.scalar(select(func.count()).select_from(Kudos)) == 0

    assert send_from_page(browser, session, [grace], message="Second").status_code == 302
    response = send_from_page(browser, session, [grace], message="Third")

    assert response.status_code == 429
    assert "daily limit" in response.get_data(as_text=True)
    # Until midnight in Los Angeles.
    assert 1 <= int(response.headers["Retry-After"]) <= 25 * 3600
    assert session.scalar(select(func.count()).select_from(Kudos)) == 1
