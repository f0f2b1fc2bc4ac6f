"""Reports: anyone who can see a kudos may ask the moderators to look at it.

A report stays open until an admin hides the kudos (``hide_kudos`` resolves
its open reports) or dismisses the reports about it. Reporting, dismissing,
and opening a kudos's text for moderation are audited. Services flush and
never commit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from kudos.audit.services import record
from kudos.people.models import Person
from kudos.reads import write_alone
from kudos.recognition.models import Kudos, KudosReport
from kudos.recognition.services import (
    CONTROL_CHARACTERS,
    KudosRejected,
    clean_message,
    resolve_reports,
)
from kudos.recognition.visibility import can_see

MAX_REPORT_REASON_LENGTH = 500


def report_kudos(
    session: Session, reporter: Person, kudos: Kudos, reason: str, *, now: datetime
) -> KudosReport:
    """Record a report. Raises ``KudosRejected``: 404 when the reporter may not
    see the kudos (never reveal it exists), 422 for a bad reason, 409 when
    their earlier report of it is still open."""
    if not can_see(reporter, kudos):
        raise KudosRejected({"__all__": "There is no such kudos."}, status=404)
    text = clean_message(reason)
    if not text:
        raise KudosRejected({"reason": "Say what is wrong with it, so a moderator can judge."})
    if len(text) > MAX_REPORT_REASON_LENGTH:
        raise KudosRejected(
            {"reason": f"Keep it to {MAX_REPORT_REASON_LENGTH} characters (now {len(text)})."}
        )
    if CONTROL_CHARACTERS.search(text):
        raise KudosRejected({"reason": "The reason contains invisible control characters."})
    already = session.scalar(
        select(KudosReport.id).where(
            KudosReport.kudos_id == kudos.id,
            KudosReport.reporter_id == reporter.id,
            KudosReport.resolved_at.is_(None),
        )
    )
    if already is not None:
        raise KudosRejected(
            {"__all__": "You have already reported this kudos. A moderator will look at it."},
            status=409,
        )
    report = KudosReport(kudos_id=kudos.id, reporter_id=reporter.id, reason=text, created_at=now)
    session.add(report)
    session.flush()
    record(
        session,
        reporter,
        "kudos.reported",
        target_type="kudos",
        target_id=kudos.id,
        details={"report": report.id, "reason": text},
    )
    session.flush()
    return report


def dismiss_reports(session: Session, admin: Person, kudos: Kudos, *, now: datetime) -> int:
    """The admin looked and the kudos stays: its open reports are closed."""
    count = resolve_reports(session, admin, kudos, "dismissed", now=now)
    record(
        session,
        admin,
        "kudos.reports_dismissed",
        target_type="kudos",
        target_id=kudos.id,
        details={"reports": count},
    )
    session.flush()
    return count


def open_reports(session: Session, kudos: Kudos | None = None) -> list[KudosReport]:
    """Open reports, oldest first (all of them, or those about ``kudos``)."""
    stmt = (
        select(KudosReport)
        .where(KudosReport.resolved_at.is_(None))
        .options(joinedload(KudosReport.reporter), joinedload(KudosReport.kudos))
        .order_by(KudosReport.created_at, KudosReport.id)
    )
    if kudos is not None:
        stmt = stmt.where(KudosReport.kudos_id == kudos.id)
    return list(session.scalars(stmt))


def may_read(admin: Person, kudos: Kudos) -> bool:
    """Whether the moderation page shows the message without being asked:
    only when the admin is in its audience (or it is public). Being an admin
    puts nobody in an audience."""
    return can_see(admin, kudos, include_hidden=True)


def open_for_moderation(session: Session, admin: Person, kudos: Kudos) -> None:
    """The admin deliberately reads a kudos they are not in the audience of."""
    record(
        session,
        admin,
        "kudos.moderation_viewed",
        target_type="kudos",
        target_id=kudos.id,
        details={"visibility": kudos.visibility},
    )
    session.flush()


@dataclass(frozen=True)
class ReportOutcome:
    """What became of a report, as its reporter is told (once). Only the
    report's own facts: the kudos may be out of the reporter's sight now
    (hidden, or narrowed by a recipient), so nothing of it is shown."""

    kudos_id: int
    resolution: str  # "hidden" or "dismissed"
    reported_at: datetime


def take_outcomes(session: Session, reporter: Person, *, now: datetime) -> list[ReportOutcome]:
    """Reports by ``reporter`` that a moderator dealt with since they were
    last told, now told (by the page about to show them): one statement,
    a write no cached page shows, committed on its own as a celebration is."""
    told = write_alone(session, _tell(), {"reporter": reporter.id, "now": now})
    return sorted((ReportOutcome(*row) for row in told), key=lambda outcome: outcome.reported_at)


@functools.cache
def _tell() -> Update:
    return (
        update(KudosReport)
        .where(
            KudosReport.reporter_id == bindparam("reporter"),
            KudosReport.resolved_at.is_not(None),
            KudosReport.reporter_told_at.is_(None),
        )
        .values(reporter_told_at=bindparam("now"))
        .returning(KudosReport.kudos_id, KudosReport.resolution, KudosReport.created_at)
        .execution_options(synchronize_session=False)
    )
