"""The company overview for admins: how recognition goes, month by month.

Counts only, never content, so no visibility rule is at stake: kudos and
the people sending them each month, the values used, and how many people
in each department sent and received kudos. Hidden kudos never count;
"people" are those active today (the directory keeps no history of
headcount).
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, aliased

from kudos import cache
from kudos.people.models import Department, Person
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value
from kudos.timeutil import Month

TREND_MONTHS = 12
NO_DEPARTMENT = "No department"


@dataclass(frozen=True)
class MonthFigures:
    month: Month
    kudos: int
    senders: int
    people: int  # active today

    @property
    def share_sending(self) -> float:
        return self.senders / self.people if self.people else 0.0


@dataclass(frozen=True)
class ValueUse:
    name: str
    emoji: str
    active: bool
    kudos: int


@dataclass(frozen=True)
class DepartmentFigures:
    name: str
    people: int
    senders: int
    recipients: int

    @property
    def share_sent(self) -> float:
        return self.senders / self.people if self.people else 0.0

    @property
    def share_received(self) -> float:
        return self.recipients / self.people if self.people else 0.0


@dataclass(frozen=True)
class Overview:
    month: Month
    trend: list[MonthFigures]  # oldest first, ending with ``month``
    values: list[ValueUse]  # most used first
    departments: list[DepartmentFigures]  # by name

    @property
    def current(self) -> MonthFigures:
        return self.trend[-1]


def overview(session: Session, month: Month, zone: ZoneInfo) -> Overview:
    """Read once until the data changes (counts kudos: see ``cache``)."""
    return cache.cached(
        session,
        ("company overview", str(month), zone.key),
        lambda: _overview(session, month, zone),
        counts_kudos=True,
    )


def _overview(session: Session, month: Month, zone: ZoneInfo) -> Overview:
    people = session.scalar(select(func.count()).where(Person.active)) or 0
    months = [month]
    while len(months) < TREND_MONTHS:
        months.insert(0, months[0].previous())
    trend = []
    for each in months:
        start, end = each.bounds(zone)
        kudos, senders = session.execute(
            select(func.count(), func.count(distinct(Kudos.sender_id))).where(
                Kudos.created_at >= start, Kudos.created_at < end, Kudos.hidden_at.is_(None)
            )
        ).one()
        trend.append(MonthFigures(each, kudos, senders, people))
    start, end = month.bounds(zone)
    return Overview(month, trend, _values(session, start, end), _departments(session, start, end))


def _in_month(start, end):  # noqa: ANN001, ANN202 - the month's visible kudos
    return (Kudos.created_at >= start, Kudos.created_at < end, Kudos.hidden_at.is_(None))


def _values(session: Session, start, end) -> list[ValueUse]:  # noqa: ANN001
    used = (
        select(kudos_value.c.value_id, func.count().label("kudos"))
        .join(Kudos, Kudos.id == kudos_value.c.kudos_id)
        .where(*_in_month(start, end))
        .group_by(kudos_value.c.value_id)
        .subquery()
    )
    rows = session.execute(
        select(Value.name, Value.emoji, Value.active, func.coalesce(used.c.kudos, 0))
        .outerjoin(used, used.c.value_id == Value.id)
        .where((used.c.kudos > 0) | Value.active)
        .order_by(func.coalesce(used.c.kudos, 0).desc(), Value.position)
    )
    return [ValueUse(*row) for row in rows]


def _departments(session: Session, start, end) -> list[DepartmentFigures]:  # noqa: ANN001
    sender = aliased(Person)
    recipient = aliased(Person)
    people = dict(
        session.execute(
            select(Person.department_id, func.count())
            .where(Person.active)
            .group_by(Person.department_id)
        ).all()
    )
    senders = dict(
        session.execute(
            select(sender.department_id, func.count(distinct(Kudos.sender_id)))
            .join(sender, sender.id == Kudos.sender_id)
            .where(*_in_month(start, end), sender.active)
            .group_by(sender.department_id)
        ).all()
    )
    recipients = dict(
        session.execute(
            select(recipient.department_id, func.count(distinct(Recognition.recipient_id)))
            .join(Kudos, Kudos.id == Recognition.kudos_id)
            .join(recipient, recipient.id == Recognition.recipient_id)
            .where(*_in_month(start, end), recipient.active)
            .group_by(recipient.department_id)
        ).all()
    )
    names = dict(session.execute(select(Department.id, Department.name)).all())
    figures = [
        DepartmentFigures(
            names.get(department_id, NO_DEPARTMENT) if department_id else NO_DEPARTMENT,
            count,
            senders.get(department_id, 0),
            recipients.get(department_id, 0),
        )
        for department_id, count in people.items()
    ]
    return sorted(figures, key=lambda each: (each.name == NO_DEPARTMENT, each.name.lower()))


def csv_rows(data: Overview) -> list[list[str | int]]:
    """One table a spreadsheet can pivot: what, month, name, measure, value."""
    rows: list[list[str | int]] = [["section", "month", "name", "measure", "value"]]
    for figures in data.trend:
        rows.append(["month", str(figures.month), "", "kudos", figures.kudos])
        rows.append(["month", str(figures.month), "", "active senders", figures.senders])
    for use in data.values:
        rows.append(["value", str(data.month), use.name, "kudos", use.kudos])
    for department in data.departments:
        for measure, value in (
            ("people", department.people),
            ("sent kudos", department.senders),
            ("received kudos", department.recipients),
        ):
            rows.append(["department", str(data.month), department.name, measure, value])
    return rows
