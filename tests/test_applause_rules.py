"""Applause: no "👏 0" before the first one, and none for one's own kudos.
The sender and the recipients see the button disabled with the reason, on
every page that shows the card (kept for every viewer), and the server
refuses their applause whatever sends it."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from kudos.db import utcnow
from kudos.recognition.models import Reaction
from tests.conftest import sign_in
from tests.test_kudos_cards import card_on, pressed, react, title_of


@pytest.fixture
def org(make):
    return {
        "sender": make.person(name="Sam Sender"),
        "recipient": make.person(name="Rita Recipient"),
        "other": make.person(name="Ola Onlooker"),
    }


@pytest.fixture
def kudos(make, org):
    return make.kudos(org["sender"], [org["recipient"]], message="Thanks for the release notes")


def as_person(app, person):  # noqa: ANN201
    client = app.test_client()
    sign_in(client, person)
    return client


def button(card: str) -> str:
    return re.search(
        r'<button type="submit" class="reaction-button".*?</button>', card, re.S
    ).group(0)


def reactions(session) -> int:
    return session.scalar(select(func.count()).select_from(Reaction))


def test_no_zero_before_the_first_applause(app, org, kudos):
    card = card_on(as_person(app, org["other"]), "/", kudos.id)

    assert "<span data-reaction-count hidden></span>" in button(card)
    assert ">0<" not in card
    assert '<span class="visually-hidden">Applaud</span>' in card
    assert title_of(card) == "Be the first to applaud"


def test_the_count_shows_from_the_first_applause(app, org, kudos):
    onlooker = as_person(app, org["other"])
    assert react(onlooker, "/", kudos.id).status_code == 302

    card = card_on(onlooker, "/", kudos.id)
    assert "<span data-reaction-count>1</span>" in card
    assert "Remove your applause (1 so far)" in card
    assert pressed(card)


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        ("sender", "You can't applaud kudos you sent."),
        ("recipient", "You can't applaud kudos you received."),
    ],
)
@pytest.mark.parametrize("url", ["/", "/kudos/{id}"])
def test_own_kudos_show_the_button_disabled_with_the_reason(app, org, kudos, who, reason, url):
    onlooker = card_on(as_person(app, org["other"]), url.format(id=kudos.id), kudos.id)
    card = card_on(as_person(app, org[who]), url.format(id=kudos.id), kudos.id)

    why_id = f"kudos-{kudos.id}-why"
    assert f' disabled aria-describedby="{why_id}"' in button(card)
    assert unescape(re.search(rf'id="{why_id}">(.*?)</span>', card).group(1)) == reason
    assert title_of(card) == reason
    # The same kept card, with the onlooker's parts: theirs to press.
    assert "disabled" not in button(onlooker)
    assert why_id not in onlooker


@pytest.mark.parametrize(
    ("who", "reason"),
    [("sender", "You can&#39;t applaud kudos you sent."), ("recipient", "you received")],
)
def test_the_server_refuses_applause_for_ones_own_kudos(app, session, org, kudos, who, reason):
    client = as_person(app, org[who])
    token = re.search(r'name="csrf_token" value="([^"]+)"', card_on(client, "/", kudos.id)).group(1)

    # The plain form (no JavaScript): back to the page, with the reason.
    answer = client.post(
        f"/kudos/{kudos.id}/react", data={"csrf_token": token, "next": f"/#kudos-{kudos.id}"}
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/#kudos-{kudos.id}"
    assert reason in client.get("/").get_data(as_text=True)

    # The page's script (JSON): a 403 in the error format.
    answer = client.post(
        f"/kudos/{kudos.id}/react",
        headers={"Accept": "application/json", "X-CSRFToken": token},
    )
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "forbidden"
    assert "can't applaud kudos you" in answer.json["error"]["message"]
    assert reactions(session) == 0


def test_applause_given_before_the_rule_can_be_taken_back(app, session, org, kudos):
    session.add(Reaction(kudos_id=kudos.id, person_id=org["recipient"].id, created_at=utcnow()))
    session.commit()
    client = as_person(app, org["recipient"])

    card = card_on(client, "/", kudos.id)
    assert "disabled" not in button(card)  # theirs to take back
    assert "Remove your applause (1 so far)" in card

    assert react(client, "/", kudos.id).status_code == 302
    assert reactions(session) == 0
    card = card_on(client, "/", kudos.id)
    assert " disabled " in button(card)  # and not to give again
    assert react(client, "/", kudos.id).status_code == 302
    assert reactions(session) == 0
