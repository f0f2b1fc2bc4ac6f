"""The monthly e-mail digest: one summary per manager, queued in the outbox.

``send_digests`` queues one e-mail (HTML and text) per active manager with at
least one active report, with the outbox key ``summary:YYYY-MM:<manager id>``,
so running it again for the same month queues nothing twice: the outbox keeps
the record of what was sent. ``kudos outbox deliver`` sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from kudos.outbox.models import OutboxMessage
from kudos.outbox.services import queue_email
from kudos.people.models import Person
from kudos.progress_callback import OnProgress
from kudos.summary.services import build_summary, suggested_actions
from kudos.templating import month_name
from kudos.timeutil import Month
from kudos.urls import external_url


@dataclass
class DigestReport:
    queued: int = 0
    already_queued: int = 0

    def __str__(self) -> str:
        return (
            f"{self.queued} summaries queued, {self.already_queued} already queued before "
            "(run `kudos outbox deliver` to send them)."
        )


def dedupe_prefix(month: Month) -> str:
    return f"summary:{month}:"


def managers(session: Session) -> list[Person]:
    """Active people with at least one active report."""
    return list(
        session.scalars(select(Person).where(Person.active, Person.has_reports).order_by(Person.id))
    )


def send_digests(
    session: Session,
    month: Month,
    *,
    now: datetime,
    zone: ZoneInfo,
    on_progress: OnProgress | None = None,
) -> DigestReport:
    """Queue this month's summary for every manager not sent it yet. Flushes.
    ``on_progress(phase, done, total)`` hears how many managers are done."""
    prefix = dedupe_prefix(month)
    done = set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.dedupe_key.startswith(prefix, autoescape=True)
            )
        )
    )
    report = DigestReport()
    link = external_url("summary.page", month=str(month))
    everyone = managers(session)
    for position, manager in enumerate(everyone):
        if on_progress is not None:
            on_progress("managers", position, len(everyone))
        key = f"{prefix}{manager.id}"
        if key in done:
            report.already_queued += 1
            continue
        summary = build_summary(session, manager, month, now=now, zone=zone)
        if summary.is_empty:
            continue
        context = {
            "manager": manager,
            "summary": summary,
            "month_name": month_name(month),
            "actions": suggested_actions(summary),
            "attention": [person for person in summary.people if person.none_this_month],
            "link": link,
        }
        queued = queue_email(
            session,
            kind="summary",
            to_address=manager.email,
            subject=f"Your team's kudos in {month_name(month)}",
            text_body=render_template("email/summary.txt", **context),
            html_body=render_template("email/summary.html", **context),
            now=now,
            recipient_id=manager.id,
            dedupe_key=key,
        )
        if queued is None:
            report.already_queued += 1
        else:
            report.queued += 1
    if on_progress is not None:
        on_progress("managers", len(everyone), len(everyone))
    return report
