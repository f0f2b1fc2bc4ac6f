"""After any sequence of sends, deletes, hides, restores, opt-outs and
(de)activations, the rollups equal a recomputation from scratch."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kudos.leaderboard import rollups
from kudos.people.models import Person
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos, Value
from kudos.recognition.services import (
    delete_kudos,
    hide_kudos,
    restore_kudos,
    send_kudos,
)
from tests.factories import rollup_rows

ZONE = ZoneInfo("America/New_York")
# Around the end of October and the November DST change in New York.
BASE = datetime(2026, 10, 31, 20, tzinfo=UTC)
_runs = itertools.count()

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("send"),
            st.integers(0, 4),
            st.lists(st.integers(0, 4), min_size=1, max_size=3, unique=True),
            st.integers(0, 120),
            st.integers(0, 2),
        ),
        st.tuples(st.just("delete"), st.integers(0, 30)),
        st.tuples(st.just("hide"), st.integers(0, 30)),
        st.tuples(st.just("restore"), st.integers(0, 30)),
        st.tuples(st.just("opt_out"), st.integers(0, 4), st.booleans()),
        st.tuples(st.just("active"), st.integers(0, 4), st.booleans()),
    ),
    max_size=25,
)


def apply_step(session, step, people, admin, value_ids, sent) -> None:  # noqa: ANN001
    """One generated change: a send (kudos ids go to ``sent``), a delete, hide
    or restore of one of them, an opt-out, or a (de)activation."""
    kind = step[0]
    if kind == "send":
        _, sender, recipients, minutes, value = step
        recipients = [r for r in recipients if r != sender]
        if (
            not recipients
            or not people[sender].active
            or not all(people[r].active for r in recipients)
        ):
            return
        result = send_kudos(
            session,
            people[sender],
            [people[r].id for r in recipients],
            [value_ids[value]],
            "Thanks",
            "public",
            now=BASE + timedelta(minutes=minutes * 30),
            zone=ZONE,
            daily_limit=1000,
        )
        sent.append(result.kudos.id)
    elif kind in ("delete", "hide", "restore") and sent:
        kudos = session.get(Kudos, sent[step[1] % len(sent)])
        if kudos is None:
            return
        if kind == "delete":
            delete_kudos(session, kudos.sender, kudos, now=kudos.created_at, zone=ZONE)
        elif kind == "hide" and kudos.hidden_at is None:
            hide_kudos(session, admin, kudos, "r", now=kudos.created_at, zone=ZONE)
        elif kind == "restore" and kudos.hidden_at is not None:
            restore_kudos(session, admin, kudos, zone=ZONE)
    elif kind == "opt_out":
        person = people[step[1]]
        if person.preference is None:
            session.add(RecognitionPreference(person=person))
            session.flush()
        person.preference.on_leaderboards = step[2]
    elif kind == "active":
        people[step[1]].active = step[2]
        session.flush()
        rollups.people_changed(session, [people[step[1]].id])


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(steps=operations)
def test_rollups_always_equal_a_rebuild(session, steps):
    nested = session.begin_nested()
    try:
        run = next(_runs)
        people = [Person(email=f"r{run}-{n}@acme.example.com", name=f"R {n}") for n in range(5)]
        admin = Person(email=f"r{run}-admin@acme.example.com", name="Admin", admin_granted=True)
        session.add_all([*people, admin])
        session.flush()
        value_ids = list(session.scalars(select(Value.id).order_by(Value.position)))[:3]
        sent: list[int] = []
        for step in steps:
            apply_step(session, step, people, admin, value_ids, sent)
        session.flush()

        maintained = rollup_rows(session)
        rollups.rebuild(session, ZONE)
        assert maintained == rollup_rows(session)
    finally:
        nested.rollback()
        # Rows loaded inside the example would otherwise stay in this
        # session's identity map for the next example, where SQLite hands
        # out the same ids again.
        session.expunge_all()
