"""SCIM requests at the same time, on PostgreSQL, committed for real in a
database of this module's own: the identity providers send in parallel."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from kudos import create_app
from kudos.db import make_engine, utcnow
from kudos.extensions import db
from kudos.people.models import Person, Team
from kudos.scim.tokens import create_token
from tests.conftest import TEST_SECRET_KEY
from tests.faults import migrate
from tests.pgserver import database_of_its_own
from tests.scim_client import GROUP, Scim, user


@pytest.fixture(scope="module")
def own_database(database_url: str) -> Iterator[str]:
    with database_of_its_own(database_url, "kudos_scim") as url:
        migrate(url)
        yield url


@pytest.fixture(scope="module")
def own_engine(own_database: str) -> Iterator[Engine]:
    engine = make_engine(own_database)
    yield engine
    engine.dispose()


@pytest.fixture
def app(own_database: str, own_engine: Engine) -> Iterator[Flask]:
    with own_engine.begin() as connection:
        connection.execute(text("TRUNCATE person, team, scim_token, audit_entry CASCADE"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": own_database,
            "RATELIMIT_ENABLED": False,
        }
    )
    yield app
    db.engine(app).dispose()


@pytest.fixture
def token(own_engine: Engine) -> str:
    with Session(own_engine) as session:
        _, raw = create_token(session, "Entra ID", now=utcnow())
        session.commit()
    return raw


def at_once(app: Flask, token: str, requests: list[Callable[[Scim], Any]]) -> list[Any]:
    """Each request on its own thread and client, released together."""
    barrier = threading.Barrier(len(requests))
    answers: list[Any] = [None] * len(requests)

    def run(index: int) -> None:
        scim = Scim(app.test_client(), token)
        barrier.wait()
        answers[index] = requests[index](scim)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_membership_changes_sent_at_once_all_land(app, token, own_engine):
    scim = Scim(app.test_client(), token)
    people = [
        scim.post("/Users", user(f"p{number}@acme.example.com")).get_json()["id"]
        for number in range(40)
    ]
    group = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Platform"}).get_json()

    def add(batch: list[str]) -> Callable[[Scim], Any]:
        operation = {"op": "Add", "path": "members", "value": [{"value": p} for p in batch]}
        return lambda client: client.patch(f"/Groups/{group['id']}", operation).status_code

    answers = at_once(app, token, [add(people[start : start + 10]) for start in range(0, 40, 10)])
    assert answers == [200, 200, 200, 200]
    with Session(own_engine) as session:
        members = session.scalar(
            select(func.count()).select_from(Person).join(Team).where(Team.name == "Platform")
        )
    assert members == 40


def test_the_same_user_name_sent_twice_at_once_makes_one_person(app, token, own_engine):
    answers = at_once(
        app,
        token,
        [lambda client: client.post("/Users", user("ada@acme.example.com")).status_code] * 3,
    )
    assert sorted(answers) == [201, 409, 409]
    with Session(own_engine) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 1


def test_changes_to_one_users_name_sent_at_once_all_land(app, token, own_engine):
    """Each PATCH writes the whole name it read (its parts are kept
    together): without the user read locked, one would undo the others."""
    scim = Scim(app.test_client(), token)
    ada = scim.post(
        "/Users", user("ada@acme.example.com", name={"givenName": "A", "familyName": "L"})
    ).get_json()["id"]
    parts = {"givenName": "Ada", "familyName": "Lovelace", "middleName": "King"}

    def replace(part: str) -> Callable[[Scim], Any]:
        operation = {"op": "replace", "path": f"name.{part}", "value": parts[part]}
        return lambda client: client.patch(f"/Users/{ada}", operation).status_code

    answers = at_once(app, token, [replace(part) for part in parts])
    assert answers == [200, 200, 200]
    assert scim.get(f"/Users/{ada}").get_json()["name"] == parts
