"""The manager's monthly summary, computed by a handful of aggregate queries.

Rules (PRODUCT.md, "Manager monthly summary"):

- The team is the manager's active direct reports, or with ``indirect`` every
  active person below them in the manager tree (a recursive query).
- A recognition is one recipient of one kudos. It counts when the kudos is not
  hidden and both the sender and the recipient are active, as on the
  leaderboards, but without the leaderboards' cap of 3 per pair.
- Months are calendar months in the organisation's zone. Counts that look back
  ("last recognised", "none in 60+ days") look back from the end of the month,
  or from ``now`` for the month in progress, so a past month reads the same
  whenever it is opened.
- Quotes are the newest kudos (at most three per person) that the manager may
  see under the visibility rules, and the viewer too when an admin opens
  someone else's summary: ``visible_to`` in SQL.
- The six-month trend measures today's team in each of the six months ending
  with the chosen one.
- Internal customers: departments outside the team that thanked its members,
  and the departments of the people outside the team its members thanked;
  recognitions between two members of the team are left out there.

``build_summary`` runs six statements whatever the team's size (eight on
PostgreSQL, where two more set and reset planner settings for them).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    distinct,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from kudos.db import valid_ids
from kudos.people.models import Department, Person, Team
from kudos.preferences.models import FavouriteValue, RecognitionPreference
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value
from kudos.recognition.visibility import visible_to
from kudos.timeutil import Month

TREND_MONTHS = 6
QUOTES_PER_PERSON = 3
NOT_RECOGNISED_DAYS = 60
# Team ids are sent as bound parameters up to this many; a larger team is
# selected again inside each statement (engines limit bound parameters).
MAX_INLINE_IDS = 5000
# PostgreSQL planner settings for the summary's statements, set for the
# transaction only and set back after them (see ``build_summary``). The
# settings as they were are read in the same statement, first (the
# subquery: OFFSET 0 keeps it from being merged into the outer one):
# reading them back from pg_settings took longer than any of the queries.
TUNE = (
    "SELECT previous.*, "
    "set_config('max_parallel_workers_per_gather', '0', true), "
    "set_config('random_page_cost', '1.1', true) "
    "FROM (SELECT current_setting('max_parallel_workers_per_gather') AS workers, "
    "current_setting('random_page_cost') AS page_cost OFFSET 0) AS previous"
)
UNTUNE = (
    "SELECT set_config('max_parallel_workers_per_gather', :workers, true), "
    "set_config('random_page_cost', :page_cost, true)"
)


class SummaryForbidden(Exception):
    """The viewer may not see this summary."""


class SummaryNotFound(Exception):
    """No such manager (said only to admins)."""


@dataclass(frozen=True)
class Preferences:
    onboarded: bool
    audience: str
    style: str
    email_opt_in: bool
    on_leaderboards: bool
    favourite_values: tuple[str, ...]
    best_way_to_thank: str | None
    slack_opt_in: bool = False


NO_PREFERENCES = Preferences(False, "public", "low_key", False, True, (), None)


@dataclass(frozen=True)
class Quote:
    kudos_id: int
    sender_id: int
    sender_name: str
    message: str
    visibility: str
    created_at: datetime


@dataclass(frozen=True)
class ValueCount:
    slug: str
    name: str
    emoji: str
    count: int


@dataclass(frozen=True)
class DepartmentCount:
    department_id: int | None
    name: str
    count: int


@dataclass
class PersonSummary:
    id: int
    name: str
    email: str
    title: str | None
    team: str | None
    department: str | None
    department_id: int | None
    direct: bool
    preferences: Preferences
    last_recognised_at: datetime | None
    days_since_recognised: int | None
    received: int = 0
    given: int = 0
    distinct_senders: int = 0
    from_other_departments: int = 0
    recognised_by_manager: bool = False
    values: list[ValueCount] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)

    @property
    def share_from_other_departments(self) -> float | None:
        return self.from_other_departments / self.received if self.received else None

    @property
    def none_this_month(self) -> bool:
        return self.received == 0

    @property
    def none_in_60_days(self) -> bool:
        return self.days_since_recognised is None or (
            self.days_since_recognised >= NOT_RECOGNISED_DAYS
        )

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name


@dataclass(frozen=True)
class TrendPoint:
    month: Month
    members: int
    received: int  # recognitions received by the team
    given: int  # recognitions the team gave
    recipients: int  # members who received at least one
    senders: int  # members who gave at least one
    recognised_by_manager: int  # members the manager recognised

    def share(self, count: int) -> float | None:
        return count / self.members if self.members else None

    @property
    def share_received(self) -> float | None:
        return self.share(self.recipients)

    @property
    def share_sent(self) -> float | None:
        return self.share(self.senders)

    @property
    def share_recognised_by_manager(self) -> float | None:
        return self.share(self.recognised_by_manager)


@dataclass(frozen=True)
class Totals:
    received: int
    given: int
    previous_received: int
    previous_given: int

    @property
    def received_change(self) -> int:
        return self.received - self.previous_received

    @property
    def given_change(self) -> int:
        return self.given - self.previous_given


@dataclass
class Summary:
    manager_id: int
    manager_name: str
    month: Month
    indirect: bool
    as_of: datetime
    month_to_date: bool
    people: list[PersonSummary]
    totals: Totals
    values: list[ValueCount]
    thanked_the_team: list[DepartmentCount]
    thanked_by_the_team: list[DepartmentCount]
    trend: list[TrendPoint]  # oldest first; the last is ``month``

    @property
    def current(self) -> TrendPoint:
        return self.trend[-1]

    @property
    def is_empty(self) -> bool:
        return not self.people


# Who may see what ------------------------------------------------------------


def summary_subject(session: Session, viewer: Person, manager_id: int | None) -> Person:
    """Whose summary ``viewer`` asked for, or ``SummaryForbidden`` /
    ``SummaryNotFound``. Managers see their own; admins anybody's. A person
    who asks for someone else's summary and is not an admin is refused
    without learning whether that person exists."""
    if manager_id is None or manager_id == viewer.id:
        if not viewer.is_admin and not viewer.has_reports:
            raise SummaryForbidden
        return viewer
    if not viewer.is_admin:
        raise SummaryForbidden
    subject = session.get(Person, manager_id) if valid_ids([manager_id]) else None
    if subject is None:
        raise SummaryNotFound
    return subject


# The summary ------------------------------------------------------------------


def build_summary(
    session: Session,
    manager: Person,
    month: Month,
    *,
    now: datetime,
    zone: ZoneInfo,
    indirect: bool = False,
    viewer: Person | None = None,
) -> Summary:
    """Everything the summary shows, for ``manager``'s team in ``month``."""
    start, end = month.bounds(zone)
    as_of = min(now, end)
    months = [month]
    for _ in range(TREND_MONTHS - 1):
        months.insert(0, months[0].previous())
    bounds = [item.bounds(zone) for item in months]

    serial = session.get_bind().dialect.name == "postgresql"
    if serial:
        # Short index-driven reads: starting parallel workers costs far more
        # than the work (100 ms and more on a busy server, for queries of a
        # few milliseconds; JIT is off on every connection, see
        # ``db.make_engine``). The data is in memory, so an index lookup
        # costs little more than a sequential read (random_page_cost 1.1,
        # the usual setting for SSDs): a few thousand recognitions look up
        # their other side by primary key instead of hashing all 100,000
        # people. Only for this transaction (is_local), and set back below.
        # Generic plans are left to PostgreSQL: once the driver has prepared
        # a statement, each of the six took less with its generic plan than
        # planning it again (2.0 against 4.0 ms of SQL a summary at 20,000
        # people, 8 against 12.7 ms a build at 100,000 people and 5,000,000
        # kudos, with heads of 1,259 and 12,500 people no slower).
        previous = session.execute(text(TUNE)).one()._mapping
        untune = {name: previous[name] for name in ("workers", "page_cost")}
    people = _team(session, manager.id, indirect=indirect, as_of=as_of)
    summary = Summary(
        manager_id=manager.id,
        manager_name=manager.name,
        month=month,
        indirect=indirect,
        as_of=as_of,
        month_to_date=start <= now < end,
        people=people,
        totals=Totals(0, 0, 0, 0),
        values=[],
        thanked_the_team=[],
        thanked_by_the_team=[],
        trend=[TrendPoint(item, len(people), 0, 0, 0, 0, 0) for item in months],
    )
    if not people:
        if serial:
            session.execute(text(UNTUNE), untune)
        return summary
    by_id = {person.id: person for person in people}
    # The month in progress counts up to now.
    end = min(end, as_of)
    inline = len(by_id) <= MAX_INLINE_IDS
    params = {"manager_id": manager.id, "start": start, "end": end}
    if inline:
        params["members"] = list(by_id)
    team = _Team((indirect, inline), params)

    _add_favourites(session, by_id, team)
    thanked_the_team, thanked_by_the_team = _add_month_counts(session, by_id, team, manager.id)
    summary.thanked_the_team = thanked_the_team
    summary.thanked_by_the_team = thanked_by_the_team
    summary.values = _add_values(session, by_id, team)
    _add_quotes(session, by_id, team, manager, viewer)
    bounds[-1] = (start, end)
    summary.trend = _trend(session, team, months, bounds, len(people))
    if serial:
        session.execute(text(UNTUNE), untune)
    previous = summary.trend[-2]
    summary.totals = Totals(
        received=sum(person.received for person in people),
        given=sum(person.given for person in people),
        previous_received=previous.received,
        previous_given=previous.given,
    )
    return summary


# The statements ------------------------------------------------------------------
#
# Each is built once for each kind of team (direct or every level below;
# its ids as one list parameter, or selected again inside the statement),
# with the manager, the team and the month as bound parameters: building
# them for every summary cost more than running them for a small team.


@dataclass(frozen=True)
class _Team:
    """Which team a summary is about: the kind of statements that select it
    (indirect, inline: see ``_members``), and the parameters they take."""

    kind: tuple[bool, bool]
    params: dict[str, Any]

    def with_params(self, **extra: Any) -> dict[str, Any]:  # noqa: ANN401
        return {**self.params, **extra}


@functools.cache
def _team_ids(*, indirect: bool) -> Select:
    """The ids of the active people in the team, as a subquery."""
    manager_id = bindparam("manager_id")
    if not indirect:
        return select(Person.id).where(Person.manager_id == manager_id, Person.active)
    tree = (
        select(Person.id.label("id"))
        .where(Person.manager_id == manager_id)
        .cte("tree", recursive=True)
    )
    below = _person_alias("below")
    # UNION (not UNION ALL) ends the walk even if the tree had a cycle.
    tree = tree.union(select(below.id).join(tree, below.manager_id == tree.c.id))
    return select(Person.id).where(
        Person.id.in_(select(tree.c.id)), Person.active, Person.id != manager_id
    )


def _members(column: ColumnElement, kind: tuple[bool, bool]) -> ColumnElement[bool]:
    """In the team, for a team of ``kind`` (indirect, inline): the ids as
    one list parameter (one bound value each cost more to build than the
    statement's SQL took to run), or the subquery."""
    indirect, inline = kind
    if inline:
        return column.in_(bindparam("members", expanding=True))
    return column.in_(_team_ids(indirect=indirect))


@functools.cache
def _team_statement(*, indirect: bool) -> Select:
    last = (
        select(Recognition.created_at)
        .where(
            Recognition.recipient_id == Person.id,
            Recognition.created_at < bindparam("as_of"),
            _not_hidden(Recognition.kudos_id),
            _active(Recognition.sender_id),
        )
        .order_by(Recognition.created_at.desc())
        .limit(1)
        .correlate(Person)
        .scalar_subquery()
    )
    return (
        select(
            Person.id,
            Person.name,
            Person.email,
            Person.title,
            Team.name,
            Department.name,
            Person.department_id,
            Person.manager_id,
            RecognitionPreference.person_id,
            RecognitionPreference.audience,
            RecognitionPreference.style,
            RecognitionPreference.email_opt_in,
            RecognitionPreference.on_leaderboards,
            RecognitionPreference.best_way_to_thank,
            RecognitionPreference.slack_opt_in,
            last.label("last"),
        )
        .outerjoin(Team, Team.id == Person.team_id)
        .outerjoin(Department, Department.id == Person.department_id)
        .outerjoin(RecognitionPreference, RecognitionPreference.person_id == Person.id)
        .where(Person.id.in_(_team_ids(indirect=indirect)))
        .order_by(Person.name, Person.id)
    )


def _team(
    session: Session, manager_id: int, *, indirect: bool, as_of: datetime
) -> list[PersonSummary]:
    """Statement 1: the people, their preferences and when they were last recognised."""
    rows = session.execute(
        _team_statement(indirect=indirect), {"manager_id": manager_id, "as_of": as_of}
    )
    people = []
    for row in rows:
        person_id, name, email, title, team, department, department_id, their_manager = row[:8]
        onboarded, audience, style, email_opt_in, on_leaderboards = row[8:13]
        best_way, slack_opt_in, last_at = row[13:]
        people.append(
            PersonSummary(
                id=person_id,
                name=name,
                email=email,
                title=title,
                team=team,
                department=department,
                department_id=department_id,
                direct=their_manager == manager_id,
                preferences=(
                    NO_PREFERENCES
                    if onboarded is None
                    else Preferences(
                        True,
                        audience,
                        style,
                        email_opt_in,
                        on_leaderboards,
                        (),
                        best_way,
                        slack_opt_in=slack_opt_in,
                    )
                ),
                last_recognised_at=last_at,
                days_since_recognised=(as_of - last_at).days if last_at else None,
            )
        )
    return people


@functools.cache
def _hidden_ids() -> Select:
    hidden = aliased(Kudos, name="hidden")
    return select(hidden.id).where(hidden.hidden_at.is_not(None))


@functools.cache
def _inactive_ids() -> Select:
    inactive = aliased(Person, name="inactive")
    return select(inactive.id).where(~inactive.active)


@functools.cache
def _person_alias(name: str) -> type[Person]:
    """Aliases are built once: making them for every summary costs more
    than the SQL for a small team."""
    return aliased(Person, name=name)


def _not_hidden(kudos_id: ColumnElement) -> ColumnElement[bool]:
    """Not a hidden kudos: checked against the few hidden ones (a partial
    index), not by reading each recognition's kudos."""
    return kudos_id.not_in(_hidden_ids())


def _active(person_id: ColumnElement) -> ColumnElement[bool]:
    """Not someone who left (the few inactive people, a partial index)."""
    return person_id.not_in(_inactive_ids())


def _in_month() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """A recognition made in [start, end), the bounds bound at each run."""
    return (
        Recognition.created_at >= bindparam("start"),
        Recognition.created_at < bindparam("end"),
    )


@functools.cache
def _favourites_statement(kind: tuple[bool, bool]) -> Select:
    return (
        select(FavouriteValue.person_id, Value.name)
        .join(Value, Value.id == FavouriteValue.value_id)
        .where(_members(FavouriteValue.person_id, kind))
        .order_by(FavouriteValue.person_id, FavouriteValue.position)
    )


def _add_favourites(session: Session, by_id: dict[int, PersonSummary], team: _Team) -> None:
    """Statement 2: favourite values, in the order each person chose them."""
    favourites: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(_favourites_statement(team.kind), team.params)
    for person_id, name in rows:
        favourites[person_id].append(name)
    for person_id, names in favourites.items():
        person = by_id[person_id]
        if person.preferences.onboarded:
            person.preferences = dataclasses.replace(
                person.preferences, favourite_values=tuple(names)
            )


def _both_sides(kind: tuple[bool, bool], *extra: ColumnElement, departments: bool = True) -> Select:
    """Recognitions in [start, end) received ("r") or given ("g") by members:
    side, the member, the other person (and their department)."""
    parts = []
    for side, member_column, other_column in (
        ("r", Recognition.recipient_id, Recognition.sender_id),
        ("g", Recognition.sender_id, Recognition.recipient_id),
    ):
        columns = [
            literal(side).label("side"),
            member_column.label("member"),
            other_column.label("other"),
            *extra,
        ]
        part = select(*columns).where(
            _members(member_column, kind),
            _not_hidden(Recognition.kudos_id),
            *_in_month(),
        )
        if departments:
            other = _person_alias("other")
            part = part.add_columns(other.department_id.label("other_department")).join(
                other, and_(other.id == other_column, other.active)
            )
        else:
            part = part.where(_active(other_column))
        parts.append(part)
    return union_all(*parts).subquery("recognitions")


@functools.cache
def _month_counts_statement(kind: tuple[bool, bool]) -> Select:
    both = _both_sides(kind)
    return (
        select(
            both.c.side,
            both.c.member,
            both.c.other,
            both.c.other_department,
            Department.name,
            func.count(),
        )
        .outerjoin(Department, Department.id == both.c.other_department)
        .group_by(
            both.c.side, both.c.member, both.c.other, both.c.other_department, Department.name
        )
    )


def _add_month_counts(
    session: Session, by_id: dict[int, PersonSummary], team: _Team, manager_id: int
) -> tuple[list[DepartmentCount], list[DepartmentCount]]:
    """Statement 3: the month's recognitions grouped by member, other person
    and side; everything per person and the internal customers follow."""
    rows = session.execute(_month_counts_statement(team.kind), team.params).all()
    senders: dict[int, set[int]] = defaultdict(set)
    thanked_us: Counter[tuple[int | None, str]] = Counter()
    thanked_by_us: Counter[tuple[int | None, str]] = Counter()
    for side, member_id, other_id, other_department, department_name, count in rows:
        person = by_id[member_id]
        department_key = (other_department, department_name or "No department")
        if side == "r":
            person.received += count
            senders[member_id].add(other_id)
            if other_department != person.department_id:
                person.from_other_departments += count
            if other_id == manager_id:
                person.recognised_by_manager = True
            if other_id not in by_id:
                thanked_us[department_key] += count
        else:
            person.given += count
            if other_id not in by_id:
                thanked_by_us[department_key] += count
    for member_id, ids in senders.items():
        by_id[member_id].distinct_senders = len(ids)
    return _departments(thanked_us), _departments(thanked_by_us)


def _departments(counts: Counter[tuple[int | None, str]]) -> list[DepartmentCount]:
    return sorted(
        (DepartmentCount(key[0], key[1], count) for key, count in counts.items()),
        key=lambda item: (-item.count, item.name),
    )


@functools.cache
def _values_statement(kind: tuple[bool, bool]) -> Select:
    return (
        select(
            Recognition.recipient_id,
            Value.slug,
            Value.name,
            Value.emoji,
            Value.position,
            func.count(),
        )
        .join(kudos_value, kudos_value.c.kudos_id == Recognition.kudos_id)
        .join(Value, Value.id == kudos_value.c.value_id)
        .where(
            _members(Recognition.recipient_id, kind),
            _not_hidden(Recognition.kudos_id),
            _active(Recognition.sender_id),
            *_in_month(),
        )
        .group_by(
            Recognition.recipient_id, Value.id, Value.slug, Value.name, Value.emoji, Value.position
        )
        .order_by(Recognition.recipient_id, func.count().desc(), Value.position, Value.id)
    )


def _add_values(session: Session, by_id: dict[int, PersonSummary], team: _Team) -> list[ValueCount]:
    """Statement 4: values received, per person and for the team."""
    rows = session.execute(_values_statement(team.kind), team.params).all()
    # Most received first; ties in the company's order of values.
    counts: Counter[tuple[int, str, str, str]] = Counter()
    for recipient_id, slug, name, emoji, position, count in rows:
        by_id[recipient_id].values.append(ValueCount(slug, name, emoji, count))
        counts[(position, slug, name, emoji)] += count
    return [
        ValueCount(slug, name, emoji, count)
        for (_, slug, name, emoji), count in sorted(
            counts.items(), key=lambda item: (-item[1], item[0][0], item[0][1])
        )
    ]


def _viewer(prefix: str, *, has_team: bool) -> SimpleNamespace:
    """Bound parameters standing for a viewer (``visibility.Viewer``)."""
    return SimpleNamespace(
        id=bindparam(f"{prefix}_id"),
        team_id=bindparam(f"{prefix}_team_id") if has_team else None,
    )


@functools.cache
def _quotes_statement(
    kind: tuple[bool, bool], manager_has_team: bool, viewer_has_team: bool | None
) -> Select:
    """``viewer_has_team`` is None when the manager reads their own summary."""
    sender = _person_alias("sender")
    visible = visible_to(_viewer("manager", has_team=manager_has_team))
    if viewer_has_team is not None:
        visible = and_(visible, visible_to(_viewer("viewer", has_team=viewer_has_team)))
    ranked = (
        select(
            Recognition.recipient_id.label("recipient_id"),
            Kudos.id.label("kudos_id"),
            sender.id.label("sender_id"),
            sender.name.label("sender_name"),
            Kudos.message.label("message"),
            Kudos.visibility.label("visibility"),
            Kudos.created_at.label("created_at"),
            func.row_number()
            .over(
                partition_by=Recognition.recipient_id,
                order_by=(Kudos.created_at.desc(), Kudos.id.desc()),
            )
            .label("position"),
        )
        .join(Kudos, Kudos.id == Recognition.kudos_id)
        .join(sender, sender.id == Recognition.sender_id)
        .where(
            _members(Recognition.recipient_id, kind),
            *_in_month(),
            sender.active,
            visible,  # hidden kudos too
        )
        .subquery("ranked")
    )
    return (
        select(ranked)
        .where(ranked.c.position <= QUOTES_PER_PERSON)
        .order_by(ranked.c.recipient_id, ranked.c.position)
    )


def _add_quotes(
    session: Session,
    by_id: dict[int, PersonSummary],
    team: _Team,
    manager: Person,
    viewer: Person | None,
) -> None:
    """Statement 5: the newest kudos per person that the manager (and the
    viewer) may see, at most three each."""
    params = team.with_params(manager_team_id=manager.team_id)
    viewer_has_team = None
    if viewer is not None and viewer.id != manager.id:
        viewer_has_team = viewer.team_id is not None
        params.update(viewer_id=viewer.id, viewer_team_id=viewer.team_id)
    statement = _quotes_statement(team.kind, manager.team_id is not None, viewer_has_team)
    for row in session.execute(statement, params):
        by_id[row.recipient_id].quotes.append(
            Quote(
                row.kudos_id,
                row.sender_id,
                row.sender_name,
                row.message,
                row.visibility,
                _aware(row.created_at),
            )
        )


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@functools.cache
def _trend_statement(kind: tuple[bool, bool]) -> Select:
    """Over [start, end) of the six months, ``end_0`` … ``end_4`` where each
    of the first five ends."""
    bucket = case(
        *(
            (Recognition.created_at < bindparam(f"end_{index}"), index)
            for index in range(TREND_MONTHS - 1)
        ),
        else_=TREND_MONTHS - 1,
    ).label("bucket")
    both = _both_sides(kind, bucket, departments=False)
    by_manager = case((both.c.other == bindparam("manager_id"), both.c.member))
    return select(
        both.c.bucket,
        both.c.side,
        func.count(),
        func.count(distinct(both.c.member)),
        func.count(distinct(by_manager)),
    ).group_by(both.c.bucket, both.c.side)


def _trend(
    session: Session,
    team: _Team,
    months: list[Month],
    bounds: list[tuple[datetime, datetime]],
    members: int,
) -> list[TrendPoint]:
    """Statement 6: six months of team totals, aggregated in SQL."""
    ends = {f"end_{index}": end for index, (_, end) in enumerate(bounds[:-1])}
    params = team.with_params(start=bounds[0][0], end=bounds[-1][1], **ends)
    rows = session.execute(_trend_statement(team.kind), params).all()
    numbers: dict[tuple[int, str], tuple[int, int, int]] = {
        (bucket_index, side): (count, people, by_me)
        for bucket_index, side, count, people, by_me in rows
    }
    trend = []
    for index, item in enumerate(months):
        received, recipients, by_me = numbers.get((index, "r"), (0, 0, 0))
        given, senders, _ = numbers.get((index, "g"), (0, 0, 0))
        trend.append(TrendPoint(item, members, received, given, recipients, senders, by_me))
    return trend


# Suggested actions --------------------------------------------------------------

AUDIENCE_PHRASES = {
    "private": "prefers private notes",
    "team": "prefers thanks shared with the team",
    "public": "is happy to be thanked in public",
}
STYLE_PHRASES = {
    "low_key": "likes a quiet pat on the back",
    "celebratory": "likes air horns and balloons",
}
MAX_ACTIONS = 6


def how_to_thank(person: PersonSummary) -> str:
    """ "Sam prefers private notes and values Mentor"."""
    prefs = person.preferences
    if not prefs.onboarded:
        return f"{person.first_name} hasn't said how they like to be thanked yet: ask them"
    parts = [AUDIENCE_PHRASES.get(prefs.audience, ""), STYLE_PHRASES.get(prefs.style, "")]
    if prefs.favourite_values:
        parts.append("values " + _and(list(prefs.favourite_values)))
    text = f"{person.first_name} " + _and([part for part in parts if part])
    if prefs.best_way_to_thank:
        text += f' ("{prefs.best_way_to_thank}")'
    return text


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def suggested_actions(summary: Summary) -> list[str]:
    """A few sentences drawn from the numbers and each person's preferences."""
    actions: list[str] = []
    forgotten = sorted(
        (person for person in summary.people if person.none_in_60_days),
        key=lambda person: -(person.days_since_recognised or 10**6),
    )
    for person in forgotten:
        if person.days_since_recognised is None:
            lead = f"{person.name} has never been recognised on Kudos"
        else:
            lead = f"{person.name} has not been recognised in {person.days_since_recognised} days"
        actions.append(f"{lead}; {how_to_thank(person)}.")
    quiet = [p for p in summary.people if p.none_this_month and not p.none_in_60_days]
    if quiet:
        names = _and([person.name for person in quiet[:4]])
        more = f" and {len(quiet) - 4} more" if len(quiet) > 4 else ""
        actions.append(f"No kudos yet this month for {names}{more}.")
    current = summary.current
    if current.members and current.recognised_by_manager < current.members:
        actions.append(
            f"You recognised {current.recognised_by_manager} of {current.members} "
            f"{'person' if current.members == 1 else 'people'} in the team yourself this month."
        )
    givers = {item.department_id for item in summary.thanked_by_the_team}
    for item in summary.thanked_the_team:
        if item.department_id is not None and item.department_id not in givers:
            actions.append(
                f"{item.name} thanked your team {item.count} "
                f"time{'s' if item.count != 1 else ''} and got no kudos back: "
                "who there helped your team this month?"
            )
            break
    silent = [person for person in summary.people if person.given == 0]
    if silent and len(silent) * 2 >= len(summary.people):
        actions.append(
            f"{len(silent)} of {len(summary.people)} people sent no kudos this month; "
            "a word at the next team meeting about who helped them goes a long way."
        )
    return actions[:MAX_ACTIONS]
