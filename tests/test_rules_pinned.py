"""Rules pinned at their edges (issue 12, "Rules pinned by tests").

Each test here is aimed at one rule that small deliberate bugs could break
without the rest of the suite noticing: exact limits, days and months in
zones other than UTC, idempotency keys across senders, the delete window to
the microsecond, hidden kudos in reports, celebrations of several
recipients, caches after bulk updates, hidden rule breakers among several
recipients, and signing out everywhere. They check what people see (pages,
API answers, what is stored), not how the rules are counted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.leaderboard import rollups
from kudos.leaderboard.models import LeaderboardPair
from kudos.leaderboard.services import BOARDS, Filters, MutualPair, mutual_pairs, standings
from kudos.outbox.models import OutboxMessage
from kudos.people.directory import import_directory
from kudos.people.models import Person
from kudos.recognition.models import Kudos, Recognition, Value
from kudos.recognition.services import (
    DailyLimitReached,
    IdempotencyConflict,
    KudosRejected,
    delete_kudos,
    hide_kudos,
    send_kudos,
)
from kudos.timeutil import Month
from tests.conftest import Browser, sign_in

UTC_ZONE = ZoneInfo("UTC")
FOUR_VALUES = ("responsive", "caring", "mentor", "ownership")


def value_ids(session, slugs) -> list[int]:
    by_slug = dict(session.execute(select(Value.slug, Value.id)).all())
    return [by_slug[slug] for slug in slugs]


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def nothing_written(session) -> bool:
    return all(
        count(session, model) == 0 for model in (Kudos, Recognition, LeaderboardPair, OutboxMessage)
    )


def service_send(
    session,
    sender,
    recipients,
    *,
    values=("responsive",),
    message="Thanks!",
    visibility="public",
    now=None,
    zone=UTC_ZONE,
    limit=1000,
    key=None,
):
    return send_kudos(
        session,
        sender,
        [person.id for person in recipients],
        value_ids(session, values),
        message,
        visibility,
        now=now or utcnow(),
        zone=zone,
        daily_limit=limit,
        idempotency_key=key,
    )


def page_send(browser, session, recipients, *, values=("responsive",), message="Thanks!", **extra):
    data = {
        "recipients": [str(person.id) for person in recipients],
        "values": [str(value_id) for value_id in value_ids(session, values)],
        "message": message,
        "visibility": "public",
        "action": "send",
        **extra,
    }
    return browser.submit("/kudos/new", data=data)


def api_headers(session, person) -> dict[str, str]:
    _, raw = create_token(session, person, "rules", now=utcnow())
    session.commit()
    return {"Authorization": f"Bearer {raw}"}


def api_send(client, headers, recipients, *, values=("responsive",), message="Thanks!", **body):
    return client.post(
        "/api/v1/kudos",
        json={
            "recipients": [person.id for person in recipients],
            "values": list(values),
            "message": message,
            "visibility": "public",
            **body,
        },
        headers=headers,
    )


def at_clock(monkeypatch, moment) -> list[datetime]:
    """Pages and API see ``clock[0]`` as now; the test moves it."""
    clock = [moment]
    for module in ("kudos.recognition.views", "kudos.api.views", "kudos.leaderboard.views"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: clock[0])
    return clock


# The exact limits: 10 recipients, 3 values, 1,000 characters ------------------

# (case, recipients, values, message length, accepted, field)
LIMITS = [
    ("10 recipients", 10, 1, 10, True, None),
    ("11 recipients", 11, 1, 10, False, "recipients"),
    ("3 values", 1, 3, 10, True, None),
    ("4 values", 1, 4, 10, False, "values"),
    ("1000 characters", 1, 1, 1000, True, None),
    ("1001 characters", 1, 1, 1001, False, "message"),
]


def limit_case(make, recipients, values, length):
    people = [make.person() for _ in range(recipients)]
    # Space around the text is trimmed before the length is counted.
    return people, FOUR_VALUES[:values], "  " + "é" * length + "\n"


@pytest.mark.parametrize(("case", "recipients", "values", "length", "accepted", "field"), LIMITS)
def test_exact_limits_through_the_service(
    session, make, case, recipients, values, length, accepted, field
):
    sender = make.person()
    people, slugs, message = limit_case(make, recipients, values, length)

    if accepted:
        kudos = service_send(session, sender, people, values=slugs, message=message).kudos
        # In the order chosen: the position is what orders them when shown.
        assert [(r.recipient_id, r.position) for r in kudos.recognitions] == [
            (person.id, index) for index, person in enumerate(people)
        ]
        assert len(kudos.values) == values
        assert len(kudos.message) == length
    else:
        with pytest.raises(KudosRejected) as caught:
            service_send(session, sender, people, values=slugs, message=message)
        assert list(caught.value.fields) == [field]
        assert nothing_written(session)


@pytest.mark.parametrize(("case", "recipients", "values", "length", "accepted", "field"), LIMITS)
def test_exact_limits_through_the_compose_page(
    browser, session, make, signed_in, case, recipients, values, length, accepted, field
):
    people, slugs, message = limit_case(make, recipients, values, length)

    response = page_send(browser, session, people, values=slugs, message=message)

    if accepted:
        assert response.status_code == 302
        kudos = session.scalars(select(Kudos)).one()
        assert kudos.sender_id == signed_in.id
        assert (len(kudos.recognitions), len(kudos.values)) == (recipients, values)
        assert len(kudos.message) == length
    else:
        assert response.status_code == 422
        assert 'class="field__error"' in response.get_data(as_text=True)
        assert nothing_written(session)


@pytest.mark.parametrize(("case", "recipients", "values", "length", "accepted", "field"), LIMITS)
def test_exact_limits_through_the_api(
    client, session, make, case, recipients, values, length, accepted, field
):
    sender = make.person()
    headers = api_headers(session, sender)
    people, slugs, message = limit_case(make, recipients, values, length)

    response = api_send(client, headers, people, values=slugs, message=message)

    if accepted:
        assert response.status_code == 201
        assert len(response.json["recipients"]) == recipients
        assert len(response.json["values"]) == values
        assert len(response.json["message"]) == length
    else:
        assert response.status_code == 422
        assert list(response.json["error"]["fields"]) == [field]
        assert nothing_written(session)


# The daily limit counts the organisation's day, wherever it is ----------------

ZONES = ["America/Los_Angeles", "Pacific/Auckland"]


def local(zone_name: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone_name)).astimezone(UTC)


def day_edges(zone_name: str) -> list[tuple[datetime, bool]]:
    """With a limit of one a day: (moment, accepted) in order. The last
    minute of 23 November and the first of 24 November, local time, are
    different days even though they are the same UTC day."""
    return [
        (local(zone_name, 2026, 11, 23, 23, 59), True),
        (local(zone_name, 2026, 11, 23, 23, 59, 59), False),
        (local(zone_name, 2026, 11, 24, 0, 0), True),
        (local(zone_name, 2026, 11, 24, 0, 1), False),
    ]


@pytest.mark.parametrize("zone_name", ZONES)
def test_the_daily_limit_follows_local_midnight_in_the_service(session, make, zone_name):
    sender, colleague = make.person(), make.person()
    for moment, accepted in day_edges(zone_name):
        if accepted:
            service_send(
                session, sender, [colleague], now=moment, zone=ZoneInfo(zone_name), limit=1
            )
        else:
            with pytest.raises(DailyLimitReached):
                service_send(
                    session, sender, [colleague], now=moment, zone=ZoneInfo(zone_name), limit=1
                )

    assert count(session, Kudos) == 2


@pytest.mark.parametrize("zone_name", ZONES)
def test_a_kudos_at_local_midnight_belongs_to_the_new_day_only(session, make, zone_name):
    sender, colleague, zone = make.person(), make.person(), ZoneInfo(zone_name)
    service_send(
        session, sender, [colleague], now=local(zone_name, 2026, 11, 24), zone=zone, limit=1
    )

    # The day before still has its one kudos to give, up to its last microsecond.
    last_moment = local(zone_name, 2026, 11, 24) - timedelta(microseconds=1)
    assert service_send(session, sender, [colleague], now=last_moment, zone=zone, limit=1).created


def test_the_daily_limit_is_each_senders_own(session, make):
    ana, cleo, ben = make.person(), make.person(), make.person()
    service_send(session, ana, [ben], now=SENT, limit=1)

    assert service_send(session, cleo, [ben], now=SENT, limit=1).created
    with pytest.raises(DailyLimitReached):
        service_send(session, ana, [ben], now=SENT, limit=1)


@pytest.mark.parametrize(
    "app_overrides",
    [{"TIMEZONE": zone, "DAILY_KUDOS_LIMIT": 1} for zone in ZONES],
    ids=ZONES,
)
def test_the_daily_limit_follows_local_midnight_on_the_compose_page(
    app, browser, session, make, signed_in, monkeypatch
):
    colleague = make.person()
    clock = at_clock(monkeypatch, utcnow())
    for moment, accepted in day_edges(app.config["TIMEZONE"]):
        clock[0] = moment
        response = page_send(browser, session, [colleague], message=f"At {moment}")
        assert response.status_code == (302 if accepted else 429), moment

    assert count(session, Kudos) == 2


@pytest.mark.parametrize(
    "app_overrides",
    [{"TIMEZONE": zone, "DAILY_KUDOS_LIMIT": 1} for zone in ZONES],
    ids=ZONES,
)
def test_the_daily_limit_follows_local_midnight_in_the_api(app, client, session, make, monkeypatch):
    sender, colleague = make.person(), make.person()
    headers = api_headers(session, sender)
    clock = at_clock(monkeypatch, utcnow())
    for moment, accepted in day_edges(app.config["TIMEZONE"]):
        clock[0] = moment
        response = api_send(client, headers, [colleague], message=f"At {moment}")
        assert response.status_code == (201 if accepted else 429), moment

    assert count(session, Kudos) == 2


# Idempotency keys belong to one sender and one kudos --------------------------


def test_another_sender_reusing_a_key_gets_their_own_kudos_in_the_service(session, make):
    ana, cleo, ben = make.person(), make.person(), make.person()
    first = service_send(session, ana, [ben], message="From Ana", key="shared-key")

    second = service_send(session, cleo, [ben], message="From Ana", key="shared-key")

    assert (first.created, second.created) == (True, True)
    assert second.kudos.id != first.kudos.id
    assert second.kudos.sender_id == cleo.id
    assert count(session, Kudos) == 2


def test_another_sender_reusing_a_key_gets_their_own_kudos_in_the_api(client, session, make):
    ana, cleo, ben = make.person(), make.person(), make.person()
    key = {"Idempotency-Key": "shared-key"}
    first = api_send(
        client, {**api_headers(session, ana), **key}, [ben], message="Ana's private words"
    )

    second = api_send(client, {**api_headers(session, cleo), **key}, [ben], message="From Cleo")

    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    assert second.json["id"] != first.json["id"]
    assert second.json["sender"]["id"] == cleo.id
    assert "Ana's private words" not in second.get_data(as_text=True)
    assert count(session, Kudos) == 2


def test_another_sender_reusing_a_form_key_gets_their_own_kudos_on_the_page(app, session, make):
    ana, cleo, ben = make.person(), make.person(), make.person()
    for sender, message in ((ana, "From Ana"), (cleo, "From Cleo")):
        client = app.test_client()
        sign_in(client, sender)
        response = page_send(Browser(client), session, [ben], message=message, idempotency_key="k1")
        assert response.status_code == 302

    sent = session.execute(select(Kudos.sender_id, Kudos.message).order_by(Kudos.id)).all()
    assert [tuple(row) for row in sent] == [(ana.id, "From Ana"), (cleo.id, "From Cleo")]


# What differs in the retry: (recipients, values, message, visibility) changes.
CHANGES = {
    "recipients": {"recipients": "both"},
    "values": {"values": ("responsive", "caring")},
    "message": {"message": "Thanks!!"},
    "visibility": {"visibility": "team"},
}


@pytest.mark.parametrize("changed", list(CHANGES))
def test_the_same_key_with_different_content_is_a_conflict_in_the_service(session, make, changed):
    ana, ben, cleo = make.person(), make.person(), make.person()
    service_send(session, ana, [ben], key="retry-1")
    change = dict(CHANGES[changed])
    if change.pop("recipients", None):
        change["recipients"] = [ben, cleo]

    with pytest.raises(IdempotencyConflict) as caught:
        service_send(session, ana, change.pop("recipients", [ben]), key="retry-1", **change)

    assert caught.value.status == 409
    assert count(session, Kudos) == 1


@pytest.mark.parametrize("changed", list(CHANGES))
def test_the_same_key_with_different_content_is_a_conflict_in_the_api(
    client, session, make, changed
):
    ana, ben, cleo = make.person(), make.person(), make.person()
    headers = {**api_headers(session, ana), "Idempotency-Key": "retry-1"}
    assert api_send(client, headers, [ben]).status_code == 201
    change = dict(CHANGES[changed])
    recipients = [ben, cleo] if change.pop("recipients", None) else [ben]
    if "values" in change:
        change["values"] = list(change["values"])

    response = api_send(client, headers, recipients, **change)

    assert response.status_code == 409
    assert response.json["error"]["code"] == "idempotency_conflict"
    assert count(session, Kudos) == 1


def test_the_same_content_in_another_order_or_spacing_replays(session, make):
    ana, ben, cleo = make.person(), make.person(), make.person()
    first = service_send(session, ana, [ben, cleo], values=("responsive", "caring"), key="retry-2")

    again = service_send(
        session,
        ana,
        [cleo, ben],
        values=("caring", "responsive"),
        message="  Thanks!\r\n",
        key="retry-2",
    )

    assert again.created is False
    assert again.kudos.id == first.kudos.id
    assert count(session, Kudos) == 1


# The delete window: 15 minutes, to the microsecond ----------------------------

SENT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
WINDOW_EDGES = [
    (timedelta(minutes=15), True),
    (timedelta(minutes=15, microseconds=1), False),
]


@pytest.mark.parametrize(("after", "allowed"), WINDOW_EDGES, ids=["15:00", "15:00.000001"])
def test_the_delete_window_edge_in_the_service(session, make, after, allowed):
    sender = make.person()
    kudos = make.kudos(sender, [make.person()], at=SENT)

    if allowed:
        delete_kudos(session, sender, kudos, now=SENT + after, zone=UTC_ZONE)
        assert count(session, Kudos) == 0
    else:
        with pytest.raises(KudosRejected) as caught:
            delete_kudos(session, sender, kudos, now=SENT + after, zone=UTC_ZONE)
        assert caught.value.status == 409
        assert caught.value.fields == {
            "__all__": "Kudos can only be deleted in the first 15 minutes. Ask an admin to "
            "hide it if it needs to go."
        }
        assert count(session, Kudos) == 1


@pytest.mark.parametrize(("after", "allowed"), WINDOW_EDGES, ids=["15:00", "15:00.000001"])
def test_the_delete_window_edge_on_the_page(
    browser, client, session, make, monkeypatch, after, allowed
):
    sender = make.person()
    kudos = make.kudos(sender, [make.person()], at=SENT)
    sign_in(client, sender)
    at_clock(monkeypatch, SENT + after)

    page = client.get(f"/kudos/{kudos.id}").get_data(as_text=True)
    response = browser.submit(
        f"/kudos/{kudos.id}", f"/kudos/{kudos.id}/delete", follow_redirects=True
    )

    assert ("Delete this kudos" in page) is allowed
    assert count(session, Kudos) == (0 if allowed else 1)
    assert ("first 15 minutes" in response.get_data(as_text=True)) is not allowed


# The reciprocity report never counts hidden kudos ------------------------------


MID_NOVEMBER = datetime(2026, 11, 15, 12, tzinfo=UTC)


def exchange(make, session, ann, ben, *, hidden_extra):
    """Ann and Ben thank each other three times each this month; then
    ``hidden_extra`` more kudos between them that an admin hides."""
    admin = make.person(name="Ada Admin", admin_granted=True)
    now = MID_NOVEMBER
    for minute in range(3):
        make.kudos(ann, [ben], at=now - timedelta(minutes=minute))
        make.kudos(ben, [ann], at=now - timedelta(minutes=minute))
    for sender, recipient in hidden_extra:
        extra = make.kudos(sender, [recipient], at=now)
        hide_kudos(session, admin, extra, "Moderated", now=now, zone=UTC_ZONE)
    session.commit()
    return admin


def test_hidden_kudos_add_nothing_to_a_mutual_pair(client, session, make):
    ann, ben = make.person(name="Ann"), make.person(name="Ben")
    admin = exchange(make, session, ann, ben, hidden_extra=[(ann, ben), (ann, ben)])
    sign_in(client, admin)

    page = client.get("/admin/reciprocity?month=2026-11").get_data(as_text=True)

    assert "Ann</a> and <a" in page
    assert "3 and 3" in page
    assert "5 and 3" not in page


def test_a_pair_made_only_of_hidden_kudos_is_not_reported(client, session, make):
    ann, ben = make.person(name="Ann"), make.person(name="Ben")
    admin = make.person(name="Ada Admin", admin_granted=True)
    now = MID_NOVEMBER
    make.kudos(ann, [ben], at=now)
    make.kudos(ben, [ann], at=now)
    for _ in range(3):
        for sender, recipient in ((ann, ben), (ben, ann)):
            extra = make.kudos(sender, [recipient], at=now)
            hide_kudos(session, admin, extra, "Spam", now=now, zone=UTC_ZONE)
    session.commit()
    sign_in(client, admin)
    start, end = Month(2026, 11).bounds(UTC_ZONE)

    page = client.get("/admin/reciprocity?month=2026-11").get_data(as_text=True)

    assert mutual_pairs(session, start, end) == []
    assert "Ann</a>" not in page


def test_hidden_kudos_given_elsewhere_do_not_lower_a_pairs_share(session, make):
    ann, ben, cat = make.person(name="Ann"), make.person(name="Ben"), make.person(name="Cat")
    exchange(make, session, ann, ben, hidden_extra=[(ann, cat)] * 4)
    start, end = Month(2026, 11).bounds(UTC_ZONE)

    [pair] = mutual_pairs(session, start, end)

    assert pair.share == 1.0


def test_mutual_pairs_reach_the_cap_both_ways_and_a_share_of_60_percent(session, make):
    """Who is reported, in which order, with which counts: the month's exact
    bounds, the cap each way, the share at exactly 60 %."""
    start, end = Month(2026, 11).bounds(UTC_ZONE)
    # Lea and Max come before Abe and Bea in the directory, after them by name.
    zoe, yan, lea, max_ = (make.person(name=n) for n in ("Zoe", "Yan", "Lea", "Max"))
    abe, bea, eve, fay = (make.person(name=n) for n in ("Abe", "Bea", "Eve", "Fay"))
    gus, hal, ivy, jon = (make.person(name=n) for n in ("Gus", "Hal", "Ivy", "Jon"))
    out, kim = make.person(name="Out"), make.person(name="Kim")

    def thank(sender, recipient, times, at=MID_NOVEMBER):  # noqa: ANN001, ANN202
        for _ in range(times):
            make.kudos(sender, [recipient], at=at)

    thank(zoe, yan, 3)
    thank(zoe, yan, 1, at=start)  # the first instant of the month counts
    thank(zoe, yan, 1, at=end)  # the first instant of the next does not
    thank(yan, zoe, 3)
    thank(yan, zoe, 1, at=start - timedelta(seconds=1))
    thank(zoe, out, 1)
    thank(yan, bea, 1)  # Bea is thanked by Abe too
    thank(abe, bea, 3)
    thank(bea, abe, 3)
    thank(abe, out, 2)
    thank(bea, out, 2)  # 6 of 10: exactly 60 %
    thank(eve, fay, 2)
    thank(fay, eve, 3)  # under the cap one way
    thank(gus, hal, 3)
    thank(hal, gus, 2)  # under the cap the other way
    thank(ivy, jon, 3)
    thank(jon, ivy, 3)
    thank(ivy, out, 10)  # 6 of 16: not mostly each other
    thank(kim, zoe, 3)  # someone else thanking Zoe is not Yan thanking her
    thank(lea, max_, 3)
    thank(max_, lea, 3)
    thank(max_, kim, 3)  # 6 of 9; the same 6 exchanged as Abe and Bea: by name
    session.commit()

    assert mutual_pairs(session, start, end) == [
        MutualPair(zoe.id, "Zoe", yan.id, "Yan", 4, 3, share=7 / 9),
        MutualPair(abe.id, "Abe", bea.id, "Bea", 3, 3, share=0.6),
        MutualPair(lea.id, "Lea", max_.id, "Max", 3, 3, share=6 / 9),
    ]


# Leaderboard months in the organisation's zone, sent one by one ----------------

NAMES = ("Ann", "Ben", "Cat", "Dan")


@pytest.mark.parametrize("app_overrides", [{"TIMEZONE": zone} for zone in ZONES], ids=ZONES)
def test_a_kudos_late_on_the_last_day_counts_in_its_local_month_at_once(
    app, client, session, make, monkeypatch
):
    zone_name = app.config["TIMEZONE"]
    ann, ben, cat, dan = (make.person(name=name) for name in NAMES)
    clock = at_clock(monkeypatch, local(zone_name, 2026, 11, 30, 23, 30))
    sign_in(client, ann)
    page_send(Browser(client), session, [ben])
    clock[0] = local(zone_name, 2026, 12, 1, 0, 30)
    api_send(client, api_headers(session, cat), [dan])
    assert count(session, Kudos) == 2
    sign_in(client, make.person(name="Vic Viewer"))

    november = client.get("/leaderboard?month=2026-11").get_data(as_text=True)
    december = client.get("/leaderboard?month=2026-12").get_data(as_text=True)

    assert [name for name in NAMES if f">{name}<" in november] == ["Ann", "Ben"]
    assert [name for name in NAMES if f">{name}<" in december] == ["Cat", "Dan"]

    def boards():
        return {
            (str(month), board): [
                (entry.name, entry.score) for entry in standings(session, board, month).entries
            ]
            for month in (Month(2026, 11), Month(2026, 12))
            for board in BOARDS
        }

    incremental = boards()
    assert incremental[("2026-11", "given")] == [("Ann", 1)]
    assert incremental[("2026-12", "received")] == [("Dan", 1)]
    rollups.rebuild(session, ZoneInfo(zone_name))
    session.commit()
    assert boards() == incremental


# One recipient's visit marks only their own celebration ------------------------


def test_one_recipients_visit_leaves_the_others_celebrations_waiting(client, session, make):
    sender = make.person(name="Sam Sender")
    ben, cleo = make.person(name="Ben Bell"), make.person(name="Cleo Cole")
    make.kudos(sender, [ben, cleo], message="Thank you both for the launch!")

    sign_in(client, ben)
    assert "Thank you both for the launch!" in client.get("/").get_data(as_text=True)

    seen = dict(
        session.execute(select(Recognition.recipient_id, Recognition.acknowledged_at)).all()
    )
    assert seen[ben.id] is not None
    assert seen[cleo.id] is None
    sign_in(client, cleo)
    page = client.get("/").get_data(as_text=True)
    assert 'class="quiet-notice"' in page
    assert "Sam Sender</strong> thanked you" in page


# Bulk updates (the directory import) leave nothing stale ----------------------

HEADER = "email,name,title,department,team,manager_email\n"


def directory(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


@pytest.fixture
def imported(session):
    import_directory(
        session,
        directory(
            "maya@acme.example.com,Maya Manager,Lead,,,",
            "otto@acme.example.com,Otto Other,Lead,,,",
            "sam@acme.example.com,Sam Report,Engineer,,,maya@acme.example.com",
            "tom@acme.example.com,Tom Report,Engineer,,,maya@acme.example.com",
        ),
    )
    people = {person.email.split("@")[0]: person for person in session.scalars(select(Person))}
    for person in people.values():
        person.onboarding_postponed_at = utcnow()  # straight to the pages
    session.commit()
    return people


def test_a_renaming_import_shows_at_once_on_a_cached_leaderboard(client, session, make, imported):
    make.kudos(imported["sam"], [imported["tom"]])
    sign_in(client, imported["maya"])
    assert "Sam Report" in client.get("/leaderboard").get_data(as_text=True)
    assert "Sam Report" in client.get("/leaderboard").get_data(as_text=True)  # cached now

    import_directory(
        session,
        directory(
            "maya@acme.example.com,Maya Manager,Lead,,,",
            "otto@acme.example.com,Otto Other,Lead,,,",
            "sam@acme.example.com,Samira Report,Engineer,,,maya@acme.example.com",
            "tom@acme.example.com,Tom Report,Engineer,,,maya@acme.example.com",
        ),
    )
    session.commit()

    page = client.get("/leaderboard").get_data(as_text=True)
    assert "Samira Report" in page
    assert "Sam Report" not in page


def test_a_new_manager_from_an_import_shows_at_once_on_cached_summaries(
    client, session, make, imported
):
    make.kudos(imported["otto"], [imported["sam"]], message="Sam fixed the build")
    sign_in(client, imported["maya"])
    assert "Sam fixed the build" in client.get("/manager/summary").get_data(as_text=True)
    other = client.application.test_client()
    sign_in(other, imported["otto"])
    assert other.get("/manager/summary").status_code == 403  # no reports yet

    import_directory(
        session,
        directory(
            "maya@acme.example.com,Maya Manager,Lead,,,",
            "otto@acme.example.com,Otto Other,Lead,,,",
            "sam@acme.example.com,Sam Report,Engineer,,,otto@acme.example.com",
            "tom@acme.example.com,Tom Report,Engineer,,,maya@acme.example.com",
        ),
    )
    session.commit()

    assert "Sam fixed the build" not in client.get("/manager/summary").get_data(as_text=True)
    assert other.get("/manager/summary").status_code == 200


def test_an_import_deactivating_someone_ends_their_cached_session(client, session, make, imported):
    sign_in(client, imported["tom"])
    assert client.get("/leaderboard").status_code == 200
    assert client.get("/leaderboard").status_code == 200  # the person is cached now

    import_directory(
        session,
        directory(
            "maya@acme.example.com,Maya Manager,Lead,,,",
            "otto@acme.example.com,Otto Other,Lead,,,",
            "sam@acme.example.com,Sam Report,Engineer,,,maya@acme.example.com",
        ),
        deactivate_missing=True,
    )
    session.commit()

    response = client.get("/leaderboard")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# Rule breakers hidden among several recipients --------------------------------


def hidden_breaker(make, sender, case):
    ben, cleo, dan = make.person(), make.person(), make.person()
    if case == "self third of four":
        return [ben, cleo, sender, dan], "yourself"
    return [ben, make.person(name="Ivy Inactive", active=False), cleo], "no longer works here"


BREAKERS = ["self third of four", "inactive second"]


@pytest.mark.parametrize("case", BREAKERS)
def test_a_hidden_rule_breaker_is_refused_by_the_service(session, make, case):
    sender = make.person()
    recipients, reason = hidden_breaker(make, sender, case)

    with pytest.raises(KudosRejected) as caught:
        service_send(session, sender, recipients)

    assert reason in caught.value.fields["recipients"]
    assert nothing_written(session)


@pytest.mark.parametrize("case", BREAKERS)
def test_a_hidden_rule_breaker_is_refused_on_the_compose_page(
    browser, session, make, signed_in, case
):
    recipients, reason = hidden_breaker(make, signed_in, case)

    response = page_send(browser, session, recipients)

    assert response.status_code == 422
    assert reason in response.get_data(as_text=True).replace("&#39;", "'")
    assert nothing_written(session)


@pytest.mark.parametrize("case", BREAKERS)
def test_a_hidden_rule_breaker_is_refused_by_the_api(client, session, make, case):
    sender = make.person()
    headers = api_headers(session, sender)
    recipients, reason = hidden_breaker(make, sender, case)

    response = api_send(client, headers, recipients)

    assert response.status_code == 422
    assert reason in response.json["error"]["fields"]["recipients"]
    assert nothing_written(session)


# Signing out everywhere, without the OpenID provider ---------------------------


def test_signing_out_on_one_device_signs_out_the_others(app, session, make):
    person = make.person(name="Ann Archer")
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, person)
    sign_in(phone, person)
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 200  # both cached as signed in

    assert Browser(laptop).submit("/", "/logout").status_code == 302

    for device in (phone, laptop):
        response = device.get("/")
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    # Signing in again works (a fresh session with the new version).
    session.refresh(person)
    sign_in(phone, person)
    assert phone.get("/").status_code == 200


# Gaps found by mutation testing (scripts/mutation) ---------------------------


def rollups_equal_a_rebuild(session, zone) -> bool:
    """The pair counts and scores kept up to date one kudos at a time are
    exactly what a rebuild from the recognitions gives."""

    def read():
        return [
            sorted(tuple(row) for row in session.execute(select(table)))
            for table in rollups.ROLLUP_TABLES
        ]

    incremental = read()
    rollups.rebuild(session, zone)
    return read() == incremental


def test_deleting_takes_the_kudos_off_the_board_in_the_organisations_zone(session, make):
    zone = ZoneInfo("America/Los_Angeles")
    ann, ben = make.person(name="Ann"), make.person(name="Ben")
    sent = local("America/Los_Angeles", 2026, 11, 30, 23, 50)  # December in UTC
    kudos = service_send(session, ann, [ben], now=sent, zone=zone).kudos
    assert [e.name for e in standings(session, "given", Month(2026, 11)).entries] == ["Ann"]

    delete_kudos(session, ann, kudos, now=sent + timedelta(minutes=5), zone=zone)

    assert standings(session, "given", Month(2026, 11)).entries == []
    assert count(session, LeaderboardPair) == 0
    assert rollups_equal_a_rebuild(session, zone)


def test_deleting_or_hiding_one_of_two_kudos_to_a_person_leaves_the_other(session, make):
    ann, ben, admin = make.person(name="Ann"), make.person(name="Ben"), make.person()
    first, second, third = (service_send(session, ann, [ben], now=SENT).kudos for _ in range(3))

    delete_kudos(session, ann, first, now=SENT, zone=UTC_ZONE)
    hide_kudos(session, admin, second, "Duplicate", now=SENT, zone=UTC_ZONE)

    month = Month(2026, 11)
    assert [(e.name, e.score) for e in standings(session, "given", month).entries] == [("Ann", 1)]
    assert rollups_equal_a_rebuild(session, UTC_ZONE)
    assert third.id


def test_deleting_a_hidden_kudos_leaves_the_other_counts_alone(session, make):
    ann, ben, admin = make.person(name="Ann"), make.person(name="Ben"), make.person()
    kept = service_send(session, ann, [ben], now=SENT).kudos
    hidden = service_send(session, ann, [ben], now=SENT).kudos
    hide_kudos(session, admin, hidden, "Off topic", now=SENT, zone=UTC_ZONE)

    delete_kudos(session, ann, hidden, now=SENT + timedelta(minutes=1), zone=UTC_ZONE)

    month = Month(2026, 11)
    assert [(e.name, e.score) for e in standings(session, "given", month).entries] == [("Ann", 1)]
    assert rollups_equal_a_rebuild(session, UTC_ZONE)
    assert kept.id


def test_a_deletion_is_audited_with_what_was_said_and_to_whom(session, make):
    from kudos.audit.models import AuditEntry

    ann, ben, cleo = make.person(), make.person(), make.person()
    kudos = service_send(session, ann, [ben, cleo], message="Oops, wrong team", now=SENT).kudos
    kudos_id = kudos.id

    delete_kudos(session, ann, kudos, now=SENT, zone=UTC_ZONE)

    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "kudos.deleted")).one()
    assert (entry.actor_id, entry.target_type, entry.target_id) == (ann.id, "kudos", kudos_id)
    assert entry.details == {"message": "Oops, wrong team", "recipients": [ben.id, cleo.id]}


def test_only_the_sender_may_delete_and_others_get_403(session, make):
    ann, ben = make.person(), make.person()
    kudos = service_send(session, ann, [ben], now=SENT).kudos

    with pytest.raises(KudosRejected) as caught:
        delete_kudos(session, ben, kudos, now=SENT, zone=UTC_ZONE)

    assert caught.value.status == 403
    assert caught.value.fields == {"__all__": "Only the sender can delete a kudos."}
    assert count(session, Kudos) == 1


# Every refusal, word for word: pages and the API show these sentences, and
# `kudos send` prints them (str of the exception).
REFUSALS = {
    "nobody": ("recipients", "Choose at least one person to thank."),
    "unknown person": ("recipients", "Some of the people chosen are not in the directory."),
    "self": ("recipients", "You can't send kudos to yourself, but it's a nice thought."),
    "eleven": ("recipients", "Choose at most 10 people."),
    "two inactive": ("recipients", "Ivy Inactive, Joe Gone no longer works here."),
    "empty": ("message", "Write a few words about what they did."),
    "long": ("message", "Keep it to 1000 characters (now 1001)."),
    "control": ("message", "The message contains invisible control characters."),
    "no values": ("values", "Choose the value they showed."),
    "four values": ("values", "Choose at most 3 values."),
    "unknown value": ("values", "One of the chosen values does not exist."),
    "retired value": ("values", "One of the chosen values is no longer in use."),
    "visibility": ("visibility", "Choose who can see this kudos: public, team or private."),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_says_exactly_what_is_wrong(session, make, case):
    ana, ben = make.person(), make.person()
    recipients, values, message, visibility = [ben.id], value_ids(session, ["caring"]), "Hi", "team"
    if case == "nobody":
        recipients = []
    elif case == "unknown person":
        recipients = [ben.id, 10**6]
    elif case == "self":
        recipients = [ben.id, ana.id]
    elif case == "eleven":
        recipients = [make.person().id for _ in range(11)]
    elif case == "two inactive":
        ivy, joe = make.person(name="Ivy Inactive"), make.person(name="Joe Gone")
        ivy.active = joe.active = False
        recipients = [ivy.id, ben.id, joe.id]
    elif case == "empty":
        message = " \r\n "
    elif case == "long":
        message = "x" * 1001
    elif case == "control":
        message = "bell\x07"
    elif case == "no values":
        values = []
    elif case == "four values":
        values = value_ids(session, FOUR_VALUES)
    elif case == "unknown value":
        values = [*values, 10**6]
    elif case == "retired value":
        make.value("caring").active = False
    elif case == "visibility":
        visibility = "everyone"
    session.flush()

    with pytest.raises(KudosRejected) as caught:
        send_kudos(
            session, ana, recipients, values, message, visibility,
            now=SENT, zone=UTC_ZONE, daily_limit=5,
        )  # fmt: skip

    field, sentence = REFUSALS[case]
    assert (caught.value.fields, caught.value.status, caught.value.code) == (
        {field: sentence},
        422,
        "invalid",
    )
    assert str(caught.value) == f"{field}: {sentence}"


def test_every_problem_is_reported_at_once(session, make):
    ana = make.person()

    with pytest.raises(KudosRejected) as caught:
        send_kudos(session, ana, [], [], "", "everyone", now=SENT, zone=UTC_ZONE, daily_limit=5)

    assert str(caught.value) == (
        "recipients: Choose at least one person to thank.; "
        "message: Write a few words about what they did.; "
        "values: Choose the value they showed.; "
        "visibility: Choose who can see this kudos: public, team or private."
    )


def test_the_limit_key_and_conflict_refusals_word_for_word(session, make):
    ana, ben = make.person(), make.person()
    service_send(session, ana, [ben], now=SENT, limit=1, key="k")

    with pytest.raises(DailyLimitReached) as limit:
        service_send(session, ana, [ben], now=SENT, limit=1)
    with pytest.raises(IdempotencyConflict) as conflict:
        service_send(session, ana, [ben], message="Other", now=SENT, limit=1, key="k")
    with pytest.raises(KudosRejected) as long_key:
        service_send(session, ana, [ben], now=SENT, limit=1, key="k" * 129)
    with pytest.raises(KudosRejected) as empty_key:
        service_send(session, ana, [ben], now=SENT, limit=1, key="")

    assert (limit.value.status, limit.value.code) == (429, "daily_limit")
    assert limit.value.fields == {
        "__all__": "You have sent 1 kudos today, the daily limit. Thank you for being "
        "generous! You can send more tomorrow."
    }
    assert (conflict.value.status, conflict.value.code) == (409, "idempotency_conflict")
    assert conflict.value.fields == {
        "__all__": "This Idempotency-Key was already used for a different kudos. "
        "Use a new key for a new kudos."
    }
    assert long_key.value.status == 400
    assert long_key.value.fields == {"idempotency_key": "Use a key of 1 to 128 characters."}
    assert (empty_key.value.status, empty_key.value.fields) == (400, long_key.value.fields)
    assert len(service_send(session, ana, [ben], now=SENT, limit=2, key="k" * 128).kudos.message)


def test_a_lone_carriage_return_becomes_a_line_break(session, make):
    kudos = service_send(session, make.person(), [make.person()], message="One\rTwo\r\nThree")

    assert kudos.kudos.message == "One\nTwo\nThree"


def test_a_reaction_is_stored_at_the_time_given(session, make):
    from kudos.recognition.models import Reaction
    from kudos.recognition.services import toggle_reaction

    kudos = make.kudos(make.person(), [make.person()])
    reader = make.person()

    assert toggle_reaction(session, reader, kudos, now=SENT) is True

    assert session.scalars(select(Reaction)).one().created_at == SENT
    assert toggle_reaction(session, reader, kudos, now=SENT) is False
    assert count(session, Reaction) == 0


def test_hiding_and_restoring_move_the_kudos_in_its_local_month_and_are_audited(session, make):
    from kudos.audit.models import AuditEntry
    from kudos.recognition.services import restore_kudos

    zone = ZoneInfo("Pacific/Auckland")
    ann, ben = make.person(name="Ann"), make.person(name="Ben")
    admin = make.person(name="Ada Admin", admin_granted=True)
    sent = local("Pacific/Auckland", 2026, 12, 1, 0, 10)  # November in UTC
    kudos = service_send(session, ann, [ben], now=sent, zone=zone).kudos
    december = Month(2026, 12)

    def given():
        return [(e.name, e.score) for e in standings(session, "given", december).entries]

    assert given() == [("Ann", 1)]
    hide_kudos(session, admin, kudos, "  Off topic ", now=sent, zone=zone)
    assert given() == []
    assert count(session, LeaderboardPair) == 0
    hide_kudos(session, admin, kudos, "Still off topic", now=sent, zone=zone)  # twice: no-op
    assert count(session, LeaderboardPair) == 0
    restore_kudos(session, admin, kudos, zone=zone)
    assert given() == [("Ann", 1)]
    assert rollups_equal_a_rebuild(session, zone)

    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.target_id == kudos.id).order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.actor_id, e.target_type) for e in entries] == [
        ("kudos.hidden", admin.id, "kudos"),
        ("kudos.hidden", admin.id, "kudos"),
        ("kudos.restored", admin.id, "kudos"),
    ]
    assert entries[0].details == {"reason": "Off topic"}
    assert entries[2].details == {"reason": "Still off topic"}  # what it was hidden for
    assert (kudos.hidden_at, kudos.hidden_by_id, kudos.hidden_reason) == (None, None, None)


@pytest.mark.parametrize(
    ("reason", "problem"),
    [
        (" \n ", "Say why it is hidden; the sender may ask."),
        ("x" * 501, "Keep the reason under 500 characters."),
        ("x" * 500, None),
    ],
    ids=["blank", "501", "500"],
)
def test_a_hiding_reason_is_required_and_at_most_500_characters(session, make, reason, problem):
    admin = make.person(admin_granted=True)
    kudos = make.kudos(make.person(), [make.person()])

    if problem is None:
        hide_kudos(session, admin, kudos, reason, now=SENT, zone=UTC_ZONE)
        assert kudos.hidden_reason == reason
    else:
        with pytest.raises(KudosRejected) as caught:
            hide_kudos(session, admin, kudos, reason, now=SENT, zone=UTC_ZONE)
        assert (caught.value.fields, caught.value.status) == ({"reason": problem}, 422)
        assert kudos.hidden_at is None


def test_a_rebuild_equals_the_rollups_kept_one_kudos_at_a_time(session, make):
    zone_name = "Pacific/Auckland"
    zone = ZoneInfo(zone_name)
    ann, ben, cat, dan = (make.person(name=name) for name in NAMES)
    admin = make.person(admin_granted=True)
    sends = [
        (ann, [ben, cat], ("responsive", "caring"), local(zone_name, 2026, 10, 1, 0, 5)),
        (ann, [ben], ("responsive",), local(zone_name, 2026, 10, 31, 23, 55)),
        (ben, [ann, dan], ("mentor",), local(zone_name, 2026, 10, 15, 12)),
        (cat, [ben], ("caring", "mentor", "ownership"), local(zone_name, 2026, 12, 1, 0, 1)),
        (dan, [ben], ("caring",), local(zone_name, 2026, 12, 2)),
    ]
    sent = [
        service_send(session, who, to, values=values, now=at, zone=zone).kudos
        for who, to, values, at in sends
    ]
    hide_kudos(session, admin, sent[2], "Spam", now=sends[2][3], zone=zone)

    assert rollups_equal_a_rebuild(session, zone)
    assert rollups.rebuild(session, zone) == 3  # October to December, November empty
    october = Month(2026, 10)
    assert [(e.name, e.score) for e in standings(session, "given", october).entries] == [("Ann", 3)]
    assert [(e.name, e.score) for e in standings(session, "received", october).entries] == [
        ("Ben", 2),
        ("Cat", 1),
    ]


def test_a_rebuild_of_nothing_does_no_month(session):
    assert rollups.rebuild(session, UTC_ZONE) == 0
    assert count(session, LeaderboardPair) == 0


def test_hiding_one_kudos_leaves_other_months_senders_and_values_alone(session, make):
    ann, ben, cat = make.person(name="Ann"), make.person(name="Ben"), make.person(name="Cat")
    admin = make.person(admin_granted=True)
    october, november = datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    service_send(session, ann, [ben], values=("responsive",), now=october)
    hidden = service_send(session, ann, [ben], values=("responsive", "caring"), now=november)
    service_send(session, cat, [ben], values=("caring",), now=november)

    hide_kudos(session, admin, hidden.kudos, "Spam", now=november, zone=UTC_ZONE)

    assert rollups_equal_a_rebuild(session, UTC_ZONE)
    assert standings(session, "given", Month(2026, 10)).entries[0].score == 1
    # Months are stored as YYYYMM, as kudos/leaderboard/models.py documents.
    assert set(session.scalars(select(LeaderboardPair.month))) == {202610, 202611}
    assert [e.name for e in standings(session, "given", Month(2026, 11)).entries] == ["Cat"]


def test_deactivating_a_recipient_takes_them_off_their_senders_scores(session, make):
    ann, ben, cat = make.person(name="Ann"), make.person(name="Ben"), make.person(name="Cat")
    service_send(session, ann, [ben], now=SENT)
    service_send(session, cat, [ann], now=SENT)
    month = Month(2026, 11)

    ben.active = False
    rollups.people_changed(session, [ben.id])

    assert [e.name for e in standings(session, "given", month).entries] == ["Cat"]
    assert rollups_equal_a_rebuild(session, UTC_ZONE)


def test_a_page_cached_on_one_device_has_a_working_form_on_the_other(app, make):
    from flask import template_rendered

    ann = make.person(name="Ann Archer")
    make.person(name="Ben Bell", manager=ann)
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, ann)
    sign_in(phone, ann)
    assert laptop.get("/manager/summary").status_code == 200  # cached for Ann now

    rendered = []
    with template_rendered.connected_to(lambda *args, **kwargs: rendered.append(1), app):
        # The phone's own CSRF token is put in, not the laptop's: its
        # sign-out form works.
        response = Browser(phone).submit("/manager/summary", "/logout")

    assert rendered == []  # the page came straight from the cache
    assert response.status_code == 302
    assert phone.get("/manager/summary").status_code == 302  # signed out


# The viewer's own line on a filtered board ----------------------------------------


@pytest.mark.parametrize("by", ["team", "department"])
def test_the_viewers_rank_on_a_filtered_board_counts_only_who_is_on_it(session, make, by):
    team, department = make.team("Platform"), make.department("Engineering")
    ann, ben, cat = (make.person(name=n, team=team, department=department) for n in "ABC")
    outsider = make.person(name="Out")  # thanked the most, on neither filtered board
    senders = [make.person(name=f"Sender {n}") for n in range(5)]
    for person, times in ((outsider, 5), (ann, 3), (ben, 2), (cat, 1)):
        for sender in senders[:times]:
            make.kudos(sender, [person], at=MID_NOVEMBER)
    session.commit()
    filters = Filters(team_id=team.id) if by == "team" else Filters(department_id=department.id)

    board = standings(
        session, "received", Month(2026, 11), filters=filters, limit=1, viewer_id=cat.id
    )

    assert [(e.rank, e.name) for e in board.entries] == [(1, "A")]
    assert (board.viewer.rank, board.viewer.name, board.viewer.score) == (3, "C", 1)
