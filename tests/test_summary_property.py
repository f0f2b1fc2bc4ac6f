"""The summary's SQL equals a plain-Python reference of the rules, on random
organisations (manager trees, departments, teams, people who left, hidden
kudos, every visibility), around month edges, a daylight-saving change and
the 60-day line."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kudos.people.models import Department, Person, Team
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value
from kudos.summary.services import build_summary
from kudos.timeutil import Month

PARIS = ZoneInfo("Europe/Paris")
MONTH = Month(2026, 3)  # clocks go forward on 29 March
START, END = MONTH.bounds(PARIS)
TREND = [Month(2025, 10), Month(2025, 11), Month(2025, 12), Month(2026, 1), Month(2026, 2), MONTH]
NOWS = [datetime(2026, 3, 20, 12, tzinfo=UTC), END + timedelta(days=9)]
MOMENTS = sorted(
    {
        START - timedelta(seconds=1),
        START,
        END - timedelta(seconds=1),
        END,
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 20, 12, tzinfo=UTC),  # one of the "now"s
        datetime(2026, 3, 10, 9, tzinfo=UTC),
        END - timedelta(days=60, seconds=1),  # either side of the 60-day line
        END - timedelta(days=60),
        END - timedelta(days=59, hours=23),
        datetime(2025, 10, 1, 0, 30, tzinfo=UTC),  # 1 October in Paris, the trend's start
        datetime(2025, 9, 30, 21, 59, tzinfo=UTC),  # just before it
        datetime(2025, 12, 31, 23, 30, tzinfo=UTC),  # January in Paris
        datetime(2026, 2, 14, 8, tzinfo=UTC),
    }
)
_numbers = itertools.count()


@dataclass
class FakePerson:
    active: bool
    department: int | None
    team: int
    manager: int | None  # an index lower than the person's own (a tree)


@dataclass
class FakeKudos:
    sender: int
    recipients: list[int]
    moment: datetime
    hidden: bool
    values: list[int]
    visibility: str


@st.composite
def organisations(draw):
    count = draw(st.integers(3, 9))
    mostly_true = st.sampled_from([True, True, True, False])
    people = [FakePerson(True, 0, 0, None)]  # the manager
    for index in range(1, count):
        people.append(
            FakePerson(
                draw(mostly_true),
                draw(st.sampled_from([0, 1, 2, None])),
                draw(st.integers(0, 1)),
                draw(st.one_of(st.none(), st.integers(0, index - 1))),
            )
        )
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
                    st.sampled_from([False, False, False, True]),
                    st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True),
                    st.sampled_from(["public", "public", "team", "private"]),
                )
            ),
            max_size=25,
        )
    )
    return people, kudos, draw(st.booleans()), draw(st.sampled_from(NOWS))


def reference(people, kudos, indirect, now):
    """Every number of the summary, straight from the rules."""
    manager = 0
    as_of = min(now, END)
    if indirect:
        below, frontier = set(), {manager}
        while frontier:
            frontier = {i for i, p in enumerate(people) if p.manager in frontier} - below
            below |= frontier
    else:
        below = {i for i, p in enumerate(people) if p.manager == manager}
    team = {i for i in below if people[i].active and i != manager}

    def counts(item, recipient):
        return not item.hidden and people[item.sender].active and people[recipient].active

    def in_window(moment, start, end):
        return start <= moment < min(end, as_of)

    result = {}
    for index in team:
        received = [
            (item, r)
            for item in kudos
            for r in item.recipients
            if r == index and counts(item, r) and in_window(item.moment, START, END)
        ]
        given = [
            (item, r)
            for item in kudos
            if item.sender == index
            for r in item.recipients
            if counts(item, r) and in_window(item.moment, START, END)
        ]
        values = Counter(v for item, _ in received for v in item.values)
        earlier = [
            item.moment
            for item in kudos
            for r in item.recipients
            if r == index and counts(item, r) and item.moment < as_of
        ]
        last = max(earlier, default=None)

        def visible(item):
            return (
                item.visibility == "public"
                or item.sender == manager
                or any(
                    r == manager
                    or people[r].manager == manager
                    or (item.visibility == "team" and people[r].team == people[manager].team)
                    for r in item.recipients
                )
            )

        quotes = sorted(
            (item for item, _ in received if visible(item)),
            key=lambda item: (item.moment, kudos.index(item)),
            reverse=True,
        )[:3]
        result[index] = {
            "received": len(received),
            "given": len(given),
            "senders": len({item.sender for item, _ in received}),
            "other_departments": sum(
                1
                for item, _ in received
                if people[item.sender].department != people[index].department
            ),
            "values": sorted(values.items(), key=lambda pair: (-pair[1], pair[0])),
            "last": last,
            "days": (as_of - last).days if last else None,
            "by_manager": any(item.sender == manager for item, _ in received),
            "quotes": [kudos.index(item) for item in quotes],
        }

    thanked_us, thanked_by_us = Counter(), Counter()
    for item in kudos:
        if not in_window(item.moment, START, END):
            continue
        for r in item.recipients:
            if not counts(item, r):
                continue
            if r in team and item.sender not in team:
                thanked_us[people[item.sender].department] += 1
            if item.sender in team and r not in team:
                thanked_by_us[people[r].department] += 1

    trend = []
    for month in TREND:
        start, end = month.bounds(PARIS)
        pairs = [
            (item.sender, r)
            for item in kudos
            for r in item.recipients
            if counts(item, r) and in_window(item.moment, start, end)
        ]
        trend.append(
            (
                sum(1 for _, r in pairs if r in team),
                sum(1 for s, _ in pairs if s in team),
                len({r for _, r in pairs if r in team}),
                len({s for s, _ in pairs if s in team}),
                len({r for s, r in pairs if r in team and s == manager}),
            )
        )
    return result, dict(thanked_us), dict(thanked_by_us), trend


@settings(
    max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(organisation=organisations())
def test_the_summary_matches_the_reference(session, organisation):
    people, kudos, indirect, now = organisation
    nested = session.begin_nested()
    try:
        run = next(_numbers)
        teams = [Team(name=f"ST{run}-{n}", slug=f"st{run}-{n}") for n in range(2)]
        departments = [Department(name=f"SD{run}-{n}", slug=f"sd{run}-{n}") for n in range(3)]
        session.add_all(teams + departments)
        rows = [
            Person(
                email=f"s{run}-{index}@acme.example.com",
                name=f"Person {index:02d}",
                active=fake.active,
                team=teams[fake.team],
                department=departments[fake.department] if fake.department is not None else None,
            )
            for index, fake in enumerate(people)
        ]
        session.add_all(rows)
        session.flush()
        for row, fake in zip(rows, people, strict=True):
            row.manager_id = rows[fake.manager].id if fake.manager is not None else None
        values = list(session.scalars(select(Value).order_by(Value.position)))[:3]
        kudos_ids = []
        for item in kudos:
            record = Kudos(
                sender_id=rows[item.sender].id,
                message=f"kudos {len(kudos_ids)}",
                visibility=item.visibility,
                requested_visibility=item.visibility,
                created_at=item.moment,
                hidden_at=item.moment if item.hidden else None,
                hidden_reason="r" if item.hidden else None,
            )
            session.add(record)
            session.flush()
            kudos_ids.append(record.id)
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
                [{"kudos_id": record.id, "value_id": values[v].id} for v in item.values],
            )
        session.flush()
        session.expire_all()

        summary = build_summary(session, rows[0], MONTH, now=now, zone=PARIS, indirect=indirect)
        expected, thanked_us, thanked_by_us, trend = reference(people, kudos, indirect, now)

        index_of = {row.id: index for index, row in enumerate(rows)}
        department_index = {department.id: n for n, department in enumerate(departments)}
        assert sorted(index_of[p.id] for p in summary.people) == sorted(expected)
        for person in summary.people:
            want = expected[index_of[person.id]]
            got = {
                "received": person.received,
                "given": person.given,
                "senders": person.distinct_senders,
                "other_departments": person.from_other_departments,
                "values": sorted(
                    (
                        (next(n for n, v in enumerate(values) if v.slug == value.slug), value.count)
                        for value in person.values
                    ),
                    key=lambda pair: (-pair[1], pair[0]),
                ),
                "last": person.last_recognised_at,
                "days": person.days_since_recognised,
                "by_manager": person.recognised_by_manager,
                "quotes": [kudos_ids.index(quote.kudos_id) for quote in person.quotes],
            }
            assert got == want, person.name
            assert person.none_this_month is (want["received"] == 0)
            assert person.none_in_60_days is (want["days"] is None or want["days"] >= 60)

        def by_department(items):
            return {department_index.get(item.department_id): item.count for item in items}

        assert by_department(summary.thanked_the_team) == thanked_us
        assert by_department(summary.thanked_by_the_team) == thanked_by_us
        assert [
            (p.received, p.given, p.recipients, p.senders, p.recognised_by_manager)
            for p in summary.trend
        ] == trend
        assert summary.totals.received == sum(item["received"] for item in expected.values())
        assert summary.totals.previous_received == trend[-2][0]
    finally:
        nested.rollback()
