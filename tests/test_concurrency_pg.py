"""Two requests at the same moment, on PostgreSQL (the production database).

Each thread has its own connection and commits for real, as two web
workers would; the rows are removed afterwards. SQLite allows one writer at
a time, so this file is collected only for the PostgreSQL run (conftest.py).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from kudos.db import utcnow
from kudos.people.models import Person
from kudos.recognition.models import Kudos, Value
from kudos.recognition.services import DailyLimitReached, send_kudos

LIMIT = 3


@pytest.fixture
def committed(engine):
    """A sender and a recipient committed to the database, removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    with Session(engine) as session:
        sender = Person(email=f"sender-{tag}@acme.example.com", name="Sender")
        recipient = Person(email=f"recipient-{tag}@acme.example.com", name="Recipient")
        session.add_all([sender, recipient])
        session.commit()
        ids = sender.id, recipient.id
        value_id = session.scalar(select(Value.id).where(Value.slug == "caring"))
    yield ids, value_id
    with Session(engine) as session:
        session.execute(delete(Kudos).where(Kudos.sender_id == ids[0]))
        session.execute(delete(Person).where(Person.id.in_(ids)))
        session.commit()


def send_in_thread(engine, sender_id, recipient_id, value_id, barrier, outcomes, key=None):
    with Session(engine) as session:
        sender = session.get(Person, sender_id)
        barrier.wait()
        try:
            result = send_kudos(
                session,
                sender,
                [recipient_id],
                [value_id],
                "At once!",
                "public",
                now=utcnow(),
                zone=ZoneInfo("UTC"),
                daily_limit=LIMIT,
                idempotency_key=key,
            )
            session.commit()
            outcomes.append(("sent", result.kudos.id))
        except DailyLimitReached:
            session.rollback()
            outcomes.append(("limited", None))


def run_together(engine, count, *args, **kwargs):
    barrier, outcomes = threading.Barrier(count), []
    threads = [
        threading.Thread(
            target=send_in_thread, args=(engine, *args, barrier, outcomes), kwargs=kwargs
        )
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def kudos_of(engine, sender_id) -> int:
    with Session(engine) as session:
        return session.scalar(
            select(func.count()).select_from(Kudos).where(Kudos.sender_id == sender_id)
        )


def test_two_sends_at_the_limit_cannot_both_pass(engine, committed):
    (sender_id, recipient_id), value_id = committed
    with Session(engine) as session:
        sender = session.get(Person, sender_id)
        for minutes in range(LIMIT - 1):
            send_kudos(
                session,
                sender,
                [recipient_id],
                [value_id],
                "Earlier",
                "public",
                now=utcnow() - timedelta(minutes=minutes + 1),
                zone=ZoneInfo("UTC"),
                daily_limit=LIMIT,
            )
        session.commit()

    outcomes = run_together(engine, 2, sender_id, recipient_id, value_id)

    assert sorted(kind for kind, _ in outcomes) == ["limited", "sent"]
    assert kudos_of(engine, sender_id) == LIMIT


def test_the_same_key_at_the_same_moment_makes_one_kudos(engine, committed):
    (sender_id, recipient_id), value_id = committed

    outcomes = run_together(engine, 4, sender_id, recipient_id, value_id, key="same-key")

    assert [kind for kind, _ in outcomes] == ["sent"] * 4
    assert len({kudos_id for _, kudos_id in outcomes}) == 1
    assert kudos_of(engine, sender_id) == 1


@contextmanager
def committed_people(engine, names: str) -> Iterator[tuple[list[int], int]]:
    """People committed to the database (one per letter), removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    with Session(engine) as session:
        people = [
            Person(email=f"{name.lower()}-{tag}@acme.example.com", name=name) for name in names
        ]
        session.add_all(people)
        session.commit()
        ids = [person.id for person in people]
        value_id = session.scalar(select(Value.id).where(Value.slug == "caring"))
    yield ids, value_id
    with Session(engine) as session:
        session.execute(delete(Kudos).where(Kudos.sender_id.in_(ids)))
        session.execute(delete(Person).where(Person.id.in_(ids)))
        session.commit()


@pytest.fixture
def two_colleagues(engine):
    """Two people committed to the database, who will thank each other."""
    with committed_people(engine, "AB") as made:
        yield made


def test_sends_by_different_people_never_wait_for_each_other(engine):
    """No row is written by every send: while one send is open (its row
    locks held), another sender's send to other people goes through at
    once. Before, both rewrote the page cache's token row, so the second
    waited for the first to commit."""
    with committed_people(engine, "ABCD") as ((ann, ben, cat, dan), value_id):

        def send(session: Session, sender_id: int, recipient_id: int) -> None:
            send_kudos(
                session,
                session.get(Person, sender_id),
                [recipient_id],
                [value_id],
                "Thanks!",
                "public",
                now=utcnow(),
                zone=ZoneInfo("UTC"),
                daily_limit=100,
            )
            session.flush()

        with Session(engine) as first, Session(engine) as second:
            send(first, ann, ben)  # open, not committed
            second.execute(text("SET LOCAL lock_timeout = '1s'"))
            send(second, cat, dan)  # a lock timeout here fails the test
            second.commit()
            first.commit()
        assert kudos_of(engine, ann) == kudos_of(engine, cat) == 1


def test_two_people_thanking_each_other_at_the_same_moment_both_succeed(engine, two_colleagues):
    """Each send locks its sender's row; the recognition's foreign key then
    checks the other person's row. A sender lock that blocked that check
    (FOR UPDATE rather than FOR NO KEY UPDATE) deadlocked these two sends."""
    (first, second), value_id = two_colleagues
    rounds, failures = 5, []

    def send(sender_id: int, recipient_id: int, barrier: threading.Barrier) -> None:
        with Session(engine) as session:
            sender = session.get(Person, sender_id)
            barrier.wait()
            try:
                send_kudos(
                    session,
                    sender,
                    [recipient_id],
                    [value_id],
                    "Thank you!",
                    "public",
                    now=utcnow(),
                    zone=ZoneInfo("UTC"),
                    daily_limit=100,
                )
                # Hold the locks a moment, as a slower request would.
                session.execute(select(func.pg_sleep(0.05)))
                session.commit()
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                session.rollback()
                failures.append(type(error).__name__)

    for _ in range(rounds):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=send, args=(first, second, barrier)),
            threading.Thread(target=send, args=(second, first, barrier)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert failures == []
    assert kudos_of(engine, first) == kudos_of(engine, second) == rounds
