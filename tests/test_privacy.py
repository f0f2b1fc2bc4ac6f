"""Privacy wins for past kudos too: a recipient's current audience applies at
once to every kudos they already received, on every page, feed, API answer,
summary quote and cached page; widening never opens a kudos beyond what its
sender asked for or its other recipients allow."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.outbox.models import OutboxMessage
from kudos.preferences.services import PreferenceChoices, save_preferences
from kudos.recognition.models import Kudos
from kudos.recognition.services import refresh_visibility
from kudos.recognition.visibility import can_see
from kudos.summary.digest import send_digests
from kudos.timeutil import Month
from tests.conftest import sign_in

UTC = ZoneInfo("UTC")
SECRET = "Thanks for covering my on-call shift"


@pytest.fixture
def org(make):
    platform, sales, ops, leadership = (
        make.team("Platform"),
        make.team("Sales"),
        make.team("Ops"),
        make.team("Leadership"),
    )
    big_boss = make.person(name="Bea Bigboss", team=leadership)
    boss = make.person(name="Bo Boss", team=platform, manager=big_boss)
    return {
        "big_boss": big_boss,
        "boss": boss,
        "recipient": make.person(name="Rita Recipient", team=platform, manager=boss),
        "co_recipient": make.person(name="Cy Corecipient", team=sales),
        "sender": make.person(name="Sam Sender", team=sales),
        "teammate": make.person(name="Tia Teammate", team=platform),
        "stranger": make.person(name="Xan Stranger", team=ops),
        "admin": make.person(name="Ada Admin", team=ops, admin_granted=True),
    }


def choose(session, person, audience: str) -> None:
    save_preferences(
        session,
        person,
        PreferenceChoices(audience, "low_key", False, True, [], None),
        now=utcnow(),
    )
    session.commit()


def api_headers(session, person) -> dict[str, str]:
    _, raw = create_token(session, person, "test", now=utcnow())
    session.commit()
    return {"Authorization": f"Bearer {raw}"}


def seen_everywhere(client, session, person, kudos) -> dict[str, bool]:
    """Where ``person`` reads the kudos's message: pages, feeds and the API."""
    sign_in(client, person)
    headers = api_headers(session, person)
    pages = {
        "kudos page": client.get(f"/kudos/{kudos.id}"),
        "company feed": client.get("/"),
        "team feed": client.get("/teams/platform"),
        "profile": client.get(f"/people/{kudos.recipients[0].id}"),
        "value feed": client.get("/values/responsive"),
        "api list": client.get("/api/v1/kudos", headers=headers),
        "api kudos": client.get(f"/api/v1/kudos/{kudos.id}", headers=headers),
    }
    seen = {name: SECRET in response.get_data(as_text=True) for name, response in pages.items()}
    if not seen["kudos page"]:
        assert pages["kudos page"].status_code == 404
        assert pages["api kudos"].status_code == 404
    return seen


def sees(client, session, person, kudos) -> bool:
    seen = seen_everywhere(client, session, person, kudos)
    assert len(set(seen.values())) == 1, seen  # the same answer everywhere
    return next(iter(seen.values()))


def through_settings(browser, client, session, person, audience):
    sign_in(client, person)
    response = browser.submit(
        "/settings/recognition", data={"audience": audience, "style": "low_key"}
    )
    assert response.status_code == 302


def through_onboarding(browser, client, session, person, audience):
    sign_in(client, person)
    response = browser.submit(
        "/onboarding", data={"audience": audience, "style": "low_key", "action": "save"}
    )
    assert response.status_code == 302


def through_api(browser, client, session, person, audience):
    response = client.put(
        "/api/v1/me/preferences",
        headers=api_headers(session, person),
        json={
            "audience": audience,
            "style": "low_key",
            "email_opt_in": False,
            "on_leaderboards": True,
        },
    )
    assert response.status_code == 200


PATHS = {"settings": through_settings, "onboarding": through_onboarding, "api": through_api}


@pytest.mark.parametrize("path", list(PATHS))
def test_narrowing_hides_kudos_already_received_everywhere_at_once(
    browser, client, session, make, org, path
):
    change = PATHS[path]
    kudos = make.kudos(org["sender"], [org["recipient"]], message=SECRET)
    assert sees(client, session, org["stranger"], kudos)

    change(browser, client, session, org["recipient"], "team")

    assert not sees(client, session, org["stranger"], kudos)
    assert not sees(client, session, org["admin"], kudos)  # admins are in no audience
    for name in ("teammate", "boss", "sender", "recipient"):
        assert sees(client, session, org[name], kudos), name

    change(browser, client, session, org["recipient"], "private")

    assert not sees(client, session, org["teammate"], kudos)
    for name in ("boss", "sender", "recipient"):
        assert sees(client, session, org[name], kudos), name


def test_widening_never_opens_beyond_the_senders_choice(session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]], visibility="team")
    choose(session, org["recipient"], "private")
    assert kudos.visibility == "private"

    choose(session, org["recipient"], "public")

    assert kudos.visibility == "team"
    assert not can_see(org["stranger"], kudos)
    assert can_see(org["teammate"], kudos)


def test_widening_never_opens_beyond_another_recipients_audience(session, make, org):
    choose(session, org["co_recipient"], "team")
    choose(session, org["recipient"], "private")
    kudos = make.kudos(org["sender"], [org["recipient"], org["co_recipient"]])
    assert kudos.visibility == "private"

    choose(session, org["recipient"], "public")
    assert kudos.visibility == "team"

    choose(session, org["co_recipient"], "public")
    assert kudos.visibility == "public"

    # Anyone may narrow it again, whoever is listed first.
    choose(session, org["co_recipient"], "private")
    assert kudos.visibility == "private"
    assert not can_see(org["teammate"], kudos)


def test_only_the_changing_persons_kudos_are_rewritten(session, make, org):
    mine = make.kudos(org["sender"], [org["recipient"]])
    theirs = make.kudos(org["sender"], [org["teammate"]])
    sent_by_me = make.kudos(org["recipient"], [org["teammate"]])

    choose(session, org["recipient"], "private")

    session.expire_all()
    assert session.get(Kudos, mine.id).visibility == "private"
    assert session.get(Kudos, theirs.id).visibility == "public"
    assert session.get(Kudos, sent_by_me.id).visibility == "public"  # a sender's audience is moot


def test_a_cached_summary_drops_a_quote_once_its_recipient_narrows(client, session, make, org):
    """The grand-manager reads an indirect report's public kudos as a quote; a
    bulk UPDATE through the session retires the cached page. The preference is
    changed behind the ORM's back, so only ``refresh_visibility`` can retire it."""
    make.kudos(org["sender"], [org["recipient"]], message=SECRET)
    sign_in(client, org["big_boss"])
    url = "/manager/summary?indirect=true"
    assert SECRET in client.get(url).get_data(as_text=True)
    assert SECRET in client.get(url).get_data(as_text=True)  # now from the cache

    session.execute(
        text(
            "INSERT INTO recognition_preference (person_id, audience, style, email_opt_in, "
            "on_leaderboards, created_at, updated_at) VALUES (:id, 'team', 'low_key', false, "
            "true, :now, :now)"
        ),
        {"id": org["recipient"].id, "now": utcnow()},
    )
    refresh_visibility(session, org["recipient"].id)
    session.commit()

    assert SECRET not in client.get(url).get_data(as_text=True)
    sign_in(client, org["boss"])  # the direct manager still reads it
    assert SECRET in client.get("/manager/summary").get_data(as_text=True)


def test_e_mails_not_yet_sent_reach_only_people_still_in_the_audience(app, session, make, org):
    """Kudos e-mails go to recipients (always in the audience) and the monthly
    summary e-mail carries no quotes, so narrowing after queueing leaks nothing."""
    app.config["SMTP_URL"] = "smtp://127.0.0.1:2525"
    save_preferences(
        session,
        org["recipient"],
        PreferenceChoices("public", "low_key", True, True, [], None),
        now=utcnow(),
    )
    session.commit()
    with app.test_request_context():
        kudos = make.kudos(org["sender"], [org["recipient"]], message=SECRET)
        send_digests(session, Month.containing(utcnow(), UTC), now=utcnow(), zone=UTC)
    choose(session, org["recipient"], "private")

    pending = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    assert {message.kind for message in pending} == {"kudos", "summary"}
    people = {person.email: person for person in org.values()}
    for message in pending:
        body = message.text_body + (message.html_body or "")
        if SECRET in body:
            assert can_see(people[message.to_address], kudos), message.to_address
        if message.kind == "summary":
            assert SECRET not in body


@pytest.mark.parametrize("asked", ["private", "team"])
def test_widening_never_opens_a_kudos_beyond_what_its_sender_asked(session, make, org, asked):
    recipient = org["recipient"]
    choose(session, recipient, "private")
    kudos = make.kudos(org["sender"], [recipient], visibility=asked)

    choose(session, recipient, "public")

    session.refresh(kudos)
    assert kudos.visibility == asked
    assert not can_see(org["stranger"], kudos)


def test_someone_elses_private_choice_leaves_this_kudos_alone(session, make, org):
    choose(session, org["co_recipient"], "private")  # on kudos of their own
    make.kudos(org["sender"], [org["co_recipient"]])
    kudos = make.kudos(org["sender"], [org["recipient"]])

    choose(session, org["recipient"], "public")

    session.refresh(kudos)
    assert kudos.visibility == "public"
