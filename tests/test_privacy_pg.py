"""Privacy wins when changes arrive at the same moment (PostgreSQL).

Each side has its own connection and commits for real, as two web workers
would; the rows are removed afterwards. The first side holds its
transaction open while the second runs into it, then commits: whatever the
order, the stricter audience must win.
"""

from __future__ import annotations

import threading
import time
import uuid
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from kudos import cache
from kudos.audit.models import AuditEntry
from kudos.db import utcnow
from kudos.people.models import Person
from kudos.preferences.models import RecognitionPreference
from kudos.preferences.services import PreferenceChoices, save_preferences
from kudos.recognition.models import Kudos, Value
from kudos.recognition.services import send_kudos


@pytest.fixture
def people(engine):
    tag = uuid.uuid4().hex[:8]
    with Session(engine) as session:
        made = [Person(email=f"{name.lower()}-{tag}@acme.example.com", name=name) for name in "SAB"]
        session.add_all(made)
        session.commit()
        ids = [person.id for person in made]
    yield ids
    with Session(engine) as session:
        # What the saves recorded too: later tests expect an empty audit log.
        session.execute(delete(AuditEntry).where(AuditEntry.actor_id.in_(ids)))
        session.execute(delete(Kudos).where(Kudos.sender_id == ids[0]))
        session.execute(
            delete(RecognitionPreference).where(RecognitionPreference.person_id.in_(ids))
        )
        session.execute(delete(Person).where(Person.id.in_(ids)))
        session.commit()


def choose(session, person_id, audience):  # noqa: ANN001, ANN201
    save_preferences(
        session,
        session.get(Person, person_id),
        PreferenceChoices(audience, "low_key", False, True, [], None),
        now=utcnow(),
    )


def send(session, sender_id, recipient_ids):  # noqa: ANN001, ANN201
    value_id = session.scalar(select(Value.id).where(Value.slug == "caring"))
    return send_kudos(
        session,
        session.get(Person, sender_id),
        recipient_ids,
        [value_id],
        "At the same moment",
        "public",
        now=utcnow(),
        zone=ZoneInfo("UTC"),
        daily_limit=100,
    ).kudos.id


def while_open(engine, first, second) -> None:  # noqa: ANN001
    """``first`` runs and stays uncommitted while ``second`` (in a thread)
    starts; then ``first`` commits and ``second`` finishes."""
    errors: list[BaseException] = []

    def run_second() -> None:
        try:
            with Session(engine) as session:
                second(session)
                session.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    with Session(engine) as session:
        first(session)
        thread = threading.Thread(target=run_second)
        thread.start()
        time.sleep(0.5)  # the second side reaches the first one's locks
        session.commit()
    thread.join(timeout=30)
    assert not errors, errors


def visibility(engine, kudos_id) -> str:  # noqa: ANN001
    with Session(engine) as session:
        return session.get(Kudos, kudos_id).visibility


@pytest.fixture
def without_cache_token():
    """Every write also updates the page cache's one token row, which happens
    to serialise writers today; take it away so the test shows that the
    kudos rows' own locks are enough."""
    hooks = [("after_flush", cache._after_flush), ("do_orm_execute", cache._on_execute)]
    for name, hook in hooks:
        event.remove(Session, name, hook)
    yield
    for name, hook in hooks:
        event.listen(Session, name, hook)


def test_two_recipients_changing_at_once_the_stricter_wins(engine, people, without_cache_token):
    sender, first, second = people
    with Session(engine) as session:
        for person in (first, second):
            choose(session, person, "public")
        kudos_id = send(session, sender, [first, second])
        session.commit()

    while_open(
        engine,
        lambda session: choose(session, first, "private"),
        lambda session: choose(session, second, "team"),
    )

    assert visibility(engine, kudos_id) == "private"


def test_a_kudos_sent_while_its_recipient_narrows_follows_the_narrowing(engine, people):
    sender, recipient, _ = people
    with Session(engine) as session:
        choose(session, recipient, "public")
        session.commit()
    sent: list[int] = []

    while_open(
        engine,
        lambda session: choose(session, recipient, "private"),
        lambda session: sent.append(send(session, sender, [recipient])),
    )

    assert visibility(engine, sent[0]) == "private"
