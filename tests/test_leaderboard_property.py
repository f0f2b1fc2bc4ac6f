"""The leaderboard SQL equals a plain-Python reference of the rules, on random
organisations, around month edges and a daylight-saving change."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kudos.leaderboard.rollups import rebuild
from kudos.leaderboard.services import BOARDS, Filters, standings
from kudos.people.models import Department, Person, Team
from kudos.preferences.models import RecognitionPreference
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value
from kudos.timeutil import Month

PARIS = ZoneInfo("Europe/Paris")
MONTH = Month(2026, 3)  # clocks go forward on 29 March
START, END = MONTH.bounds(PARIS)
# Moments just inside and outside both edges, around the DST change, and inside.
MOMENTS = sorted(
    {
        START - timedelta(seconds=1),
        START,
        START + timedelta(seconds=1),
        START - timedelta(hours=1),
        START + timedelta(hours=1),
        END - timedelta(seconds=1),
        END,
        END + timedelta(hours=1),
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 15, 12, tzinfo=UTC),
        datetime(2026, 3, 31, 22, 30, tzinfo=UTC),
        datetime(2026, 2, 28, 22, 59, tzinfo=UTC),
        datetime(2026, 3, 10, 9, tzinfo=UTC),
    }
)
_numbers = itertools.count()
NO_FILTERS = Filters()


@dataclass
class FakePerson:
    active: bool
    listed: bool
    team: int
    department: int


@dataclass
class FakeKudos:
    sender: int
    recipients: list[int]
    moment: datetime
    hidden: bool
    values: list[int]


@st.composite
def organisations(draw):
    mostly_true = st.sampled_from([True, True, False])
    people = draw(
        st.lists(
            st.builds(FakePerson, mostly_true, mostly_true, st.integers(0, 1), st.integers(0, 1)),
            min_size=2,
            max_size=7,
        )
    )
    count = len(people)
    kudos = draw(
        st.lists(
            st.integers(0, count - 1).flatmap(
                lambda sender: st.builds(
                    FakeKudos,
                    st.just(sender),
                    st.lists(
                        st.integers(0, count - 1).filter(lambda r: r != sender),
                        min_size=1,
                        max_size=3,
                        unique=True,
                    ),
                    st.sampled_from(MOMENTS),
                    st.sampled_from([False, False, True]),
                    st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True),
                )
            ),
            max_size=30,
        )
    )
    return people, kudos


def reference(people, kudos, board, value=None, team=None, department=None):
    pairs = Counter()
    for item in kudos:
        if item.hidden or not START <= item.moment < END:
            continue
        if value is not None and value not in item.values:
            continue
        for recipient in item.recipients:
            if people[item.sender].active and people[recipient].active:
                pairs[(item.sender, recipient)] += 1
    scores = Counter()
    for (sender, recipient), count in pairs.items():
        scores[sender if board == "given" else recipient] += min(count, 3)
    listed = {
        index: score
        for index, score in scores.items()
        if people[index].listed
        and (team is None or people[index].team == team)
        and (department is None or people[index].department == department)
    }
    # Inside a tie, the newest person first (ids grow with the index here).
    order = sorted(listed, key=lambda index: (-listed[index], -index))
    return [
        (1 + sum(1 for other in listed.values() if other > listed[index]), index, listed[index])
        for index in order
    ]


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(organisation=organisations())
def test_boards_match_the_reference(session, organisation):
    people, kudos = organisation
    nested = session.begin_nested()
    try:
        run = next(_numbers)
        teams = [Team(name=f"T{run}-{n}", slug=f"t{run}-{n}") for n in range(2)]
        departments = [Department(name=f"D{run}-{n}", slug=f"d{run}-{n}") for n in range(2)]
        session.add_all(teams + departments)
        rows = [
            Person(
                email=f"p{run}-{index}@acme.example.com",
                name=f"Person {index:02d}",
                active=fake.active,
                team=teams[fake.team],
                department=departments[fake.department],
            )
            for index, fake in enumerate(people)
        ]
        session.add_all(rows)
        session.flush()
        for row, fake in zip(rows, people, strict=True):
            if not fake.listed:
                session.add(RecognitionPreference(person=row, on_leaderboards=False))
        value_ids = list(session.scalars(select(Value.id).order_by(Value.position)))[:3]
        for item in kudos:
            record = Kudos(
                sender_id=rows[item.sender].id,
                message="x",
                visibility="public",
                requested_visibility="public",
                created_at=item.moment,
                hidden_at=item.moment if item.hidden else None,
                hidden_reason="r" if item.hidden else None,
            )
            session.add(record)
            session.flush()
            session.add_all(
                Recognition(
                    kudos_id=record.id,
                    recipient_id=rows[r].id,
                    sender_id=rows[item.sender].id,
                    created_at=item.moment,
                )
                for r in item.recipients
            )
            session.execute(
                kudos_value.insert(),
                [{"kudos_id": record.id, "value_id": value_ids[v]} for v in item.values],
            )
        session.flush()
        rebuild(session, PARIS)
        index_of = {row.id: index for index, row in enumerate(rows)}

        def board_of(board, filters=NO_FILTERS):
            result = standings(session, board, MONTH, filters=filters, limit=100)
            return [
                (entry.rank, index_of[entry.person_id], entry.score) for entry in result.entries
            ]

        for board in BOARDS:
            assert board_of(board) == reference(people, kudos, board)
            # Everyone's own line, as seen from outside a top of one.
            for rank, index, score in reference(people, kudos, board):
                line = standings(session, board, MONTH, limit=1, viewer_id=rows[index].id).viewer
                assert (line.rank, line.score) == (rank, score)
            assert board_of(board, Filters(value_id=value_ids[1])) == reference(
                people, kudos, board, value=1
            )
            assert board_of(board, Filters(team_id=teams[0].id)) == reference(
                people, kudos, board, team=0
            )
            assert board_of(
                board, Filters(department_id=departments[1].id, value_id=value_ids[0])
            ) == reference(people, kudos, board, department=1, value=0)
    finally:
        nested.rollback()
