"""One visibility rule, checked in SQL (feeds) and in Python (single kudos)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kudos.db import utcnow
from kudos.recognition.models import Kudos
from kudos.recognition.visibility import can_see, visible_to


@pytest.fixture
def org(make):
    platform, sales = make.team("Platform"), make.team("Sales")
    boss = make.person(name="Boss", team=platform)
    return {
        "boss": boss,
        "sender": make.person(name="Sender", team=sales),
        "recipient": make.person(name="Recipient", team=platform, manager=boss),
        "teammate": make.person(name="Teammate", team=platform),
        "stranger": make.person(name="Stranger", team=sales),
        "loner": make.person(name="No Team"),
    }


EXPECTED = {
    "public": {"boss", "sender", "recipient", "teammate", "stranger", "loner"},
    "team": {"boss", "sender", "recipient", "teammate"},
    "private": {"boss", "sender", "recipient"},
}


@pytest.mark.parametrize("visibility", ["public", "team", "private"])
def test_who_sees_a_kudos(session, make, org, visibility):
    kudos = make.kudos(org["sender"], [org["recipient"]], visibility=visibility)

    in_sql = {
        name
        for name, person in org.items()
        if session.scalar(select(Kudos.id).where(Kudos.id == kudos.id, visible_to(person)))
    }
    in_python = {name for name, person in org.items() if can_see(person, kudos)}

    assert in_sql == EXPECTED[visibility]
    assert in_python == EXPECTED[visibility]


def test_hidden_kudos_are_seen_by_nobody(session, make, org):
    kudos = make.kudos(org["sender"], [org["recipient"]])
    kudos.hidden_at, kudos.hidden_reason = utcnow(), "Off-topic"
    session.commit()

    for person in org.values():
        assert not can_see(person, kudos)
        assert session.scalar(select(Kudos.id).where(visible_to(person))) is None
        # What moderators ask for: hidden kudos their audience rule allows.
        assert can_see(person, kudos, include_hidden=True)
        assert session.scalar(select(Kudos.id).where(visible_to(person, include_hidden=True)))


@pytest.mark.parametrize("visibility", ["team", "private"])
def test_having_no_team_is_not_a_team(session, make, org, visibility):
    """Two people without a team are not teammates (NULL is no team)."""
    other_loner = make.person(name="Also No Team")
    kudos = make.kudos(org["sender"], [other_loner], visibility=visibility)

    loner = org["loner"]
    assert not can_see(loner, kudos)
    assert session.scalar(select(Kudos.id).where(Kudos.id == kudos.id, visible_to(loner))) is None
