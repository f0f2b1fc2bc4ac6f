"""Canary pair: what one test writes, the next must not see."""

from sqlalchemy import func, select

from kudos.people.models import Person


def test_1_writes_a_person(make, session):
    make.person(email="canary@acme.example.com")
    assert session.scalar(select(func.count()).select_from(Person)) == 1


def test_2_sees_an_empty_table(session):
    assert session.scalar(select(func.count()).select_from(Person)) == 0
