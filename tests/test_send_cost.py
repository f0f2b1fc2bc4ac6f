"""What one send costs the database: a fixed, small number of statements,
whatever the history, however many recipients, whoever wants an e-mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from werkzeug.test import TestResponse as Response

from kudos import cache
from kudos.auth.tokens import create_token
from kudos.db import utcnow
from kudos.outbox.models import OutboxMessage
from kudos.people.models import Person
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos
from kudos.recognition.services import known_values, send_kudos
from tests.statements import statements

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
# The statements of a send with an Idempotency-Key, recipients who want
# e-mail, and a history: recipients (with their locked audiences), values,
# the sender's lock, idempotency and daily limit together, the kudos, its
# values and recognitions, the leaderboard pairs and scores, and the outbox.
# The values come from the page cache. No shared row is written: the page
# cache sees a new kudos by its id (kudos/cache.py).
MAX_STATEMENTS = 9
# A whole POST /api/v1/kudos: the token, the page cache's freshness, and
# the send (with an e-mail); the answer is written from the objects the
# send holds, never read back.
MAX_API_STATEMENTS = 11


@pytest.fixture
def app_overrides():
    # E-mail on, so e-mails are queued (nothing is delivered in these tests).
    return {"SMTP_URL": "smtp://127.0.0.1:2525"}


def one_send(app, session, sender_id, recipient_ids, value_ids, key) -> list[str]:
    """The statements of one send, as a request makes it: in a transaction
    of its own, the signed-in sender already loaded, the rest named by id."""
    session.commit()
    sender = session.get(Person, sender_id)
    with app.test_request_context():
        # Read with the signed-in person, before any page or send; the
        # values are read once in a process, until one changes.
        cache.freshness(session, viewer_id=sender_id)
        known_values(session)
        with statements(session.get_bind()) as seen:
            send_kudos(
                session,
                sender,
                recipient_ids,
                value_ids,
                "Thanks for the handover notes",
                "public",
                now=NOW,
                zone=ZONE,
                daily_limit=100,
                idempotency_key=key,
            )
            session.flush()
    return seen


@pytest.fixture
def team(session, make):
    people = [make.person() for _ in range(11)]
    for index, person in enumerate(people[1:]):
        # Every other recipient wants an e-mail; some keep their kudos to the team.
        session.add(
            RecognitionPreference(
                person=person,
                email_opt_in=index % 2 == 0,
                audience="team" if index % 3 == 0 else "public",
            )
        )
    session.commit()
    return people


def test_a_send_takes_a_fixed_number_of_statements(app, session, make, team):
    sender, *recipients = team
    values = [make.value("responsive").id, make.value("caring").id]
    # History: pairs over the cap, scores to add to, sends earlier that day.
    for minutes in range(5):
        make.kudos(sender, recipients[:3], at=NOW - timedelta(minutes=minutes + 1))

    # One recipient who wants e-mail and has no history with the sender.
    few = one_send(app, session, sender.id, [recipients[4].id], values[:1], "a")
    many = one_send(app, session, sender.id, [r.id for r in recipients], values, "b")
    # No key, no e-mail, a pair already over the cap: fewer still.
    plain = one_send(app, session, sender.id, [recipients[1].id], values[:1], None)

    assert len(many) == len(few) <= MAX_STATEMENTS, "\n".join(many)
    assert len(plain) < len(few)
    # No row that every send writes: sends by different people never queue.
    assert not [sql for sql in few + many + plain if "cache_generation" in sql]
    # The ten recipients of ``many``: one in two wants an e-mail, queued in one statement.
    many_id = session.scalar(select(Kudos.id).where(Kudos.idempotency_key == "b"))
    queued = session.scalars(
        select(OutboxMessage.recipient_id).where(
            OutboxMessage.dedupe_key.startswith(f"kudos:{many_id}:")
        )
    ).all()
    assert sorted(queued) == sorted(r.id for r in recipients[::2])


def test_an_api_send_by_ids_looks_nobody_up_by_e_mail(app, client, session, make, team):
    sender, ann, ben = team[:3]
    _, raw = create_token(session, sender, "t", now=utcnow())
    make.value("responsive")
    session.commit()
    body = {"recipients": [ann.id, ben.id], "values": ["responsive"], "message": "Thanks"}

    def post(key: str) -> Response:
        headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": key}
        return client.post("/api/v1/kudos", json=body, headers=headers)

    # The token's first use is written down, and the process reads the
    # values; both are once (a minute, until a value changes), not per send.
    with statements(session.get_bind()) as first:
        assert post("k-0").status_code == 201
    with statements(session.get_bind()) as seen:
        answer = post("k-1")

    assert answer.status_code == 201
    # The answer is the kudos as anyone reading it back gets it.
    again = client.get(answer.headers["Location"], headers={"Authorization": f"Bearer {raw}"})
    assert answer.get_data() == again.get_data()
    assert not [sql for sql in seen if "person.email IN" in sql]
    assert len(seen) <= MAX_API_STATEMENTS, "\n".join(seen)
    assert len(first) == len(seen) + 2, "\n".join(first)
