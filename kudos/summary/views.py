"""The manager's summary page and its CSV export."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from config import FALSE_WORDS, TRUE_WORDS
from kudos import cache, ratelimit
from kudos.db import utcnow, valid_ids
from kudos.extensions import db
from kudos.people.models import Person
from kudos.summary import charts
from kudos.summary.export import summary_csv
from kudos.summary.services import (
    Summary,
    SummaryForbidden,
    SummaryNotFound,
    build_summary,
    suggested_actions,
    summary_subject,
)
from kudos.timeutil import Month, not_started, org_zone

bp = Blueprint("summary", __name__)

# What a form or a link may send for "indirect"; an empty field is no.
FORM_FALSE_WORDS = FALSE_WORDS | {""}
NOT_A_MANAGER = (
    "The team summary is for managers: it appears here as soon as someone reports to you "
    "in the company directory. If that's already the case, ask a Kudos admin to check it."
)
NOT_YOURS = "Only a manager and Kudos admins may see a manager's team summary."
MANAGERS_LISTED = 100


@dataclass(frozen=True)
class SummaryQuery:
    month: Month
    manager_id: int | None
    indirect: bool


def parse_query(
    args: dict[str, str], *, strict: bool = False, now: datetime | None = None
) -> tuple[SummaryQuery | None, dict[str, str]]:
    """``month`` (YYYY-MM, default the month of ``now``), ``manager`` (an id,
    for admins) and ``indirect`` (true/false); a message per bad argument.

    Pages accept what forms send (an empty field, ``on``); the API (``strict``)
    only ``true`` or ``false`` and an id, as its OpenAPI document says."""
    problems: dict[str, str] = {}
    month = Month.containing(now or utcnow(), org_zone())
    if args.get("month"):
        try:
            month = Month.parse(args["month"])
        except ValueError as error:
            problems["month"] = str(error)
    manager_id = None
    if (manager := args.get("manager")) is not None and (manager != "" or strict):
        if not manager.isascii() or not manager.isdigit() or not valid_ids([int(manager)]):
            problems["manager"] = "Must be a person's id (a whole number)."
        else:
            manager_id = int(manager)
    indirect_text = args.get("indirect", "false" if strict else "")
    allowed = {"true", "false"} if strict else TRUE_WORDS | FORM_FALSE_WORDS
    if not strict:
        indirect_text = indirect_text.strip().lower()
    if indirect_text not in allowed:
        problems["indirect"] = "Must be true or false."
    if problems:
        return None, problems
    return SummaryQuery(month, manager_id, indirect_text in TRUE_WORDS), {}


def _requested_summary() -> tuple[SummaryQuery, Person, Person, datetime]:
    """The query, the viewer, whose summary it is, and the time. The access
    checks run here on every request, before anything is taken from the cache."""
    now = utcnow()
    query, problems = parse_query(request.args.to_dict(), now=now)
    if query is None:
        abort(400, " ".join(problems.values()))
    viewer = current_user._get_current_object()
    try:
        subject = summary_subject(db.session, viewer, query.manager_id)
    except SummaryForbidden:
        abort(403, NOT_YOURS if query.manager_id not in (None, viewer.id) else NOT_A_MANAGER)
    except SummaryNotFound:
        abort(404, f"There is nobody with the id {query.manager_id} in the directory.")
    return query, viewer, subject, now


def summary_key(viewer: Person, subject: Person, query: SummaryQuery) -> Hashable:
    """Everything a summary depends on besides the data (the cache's token
    covers that) and the clock: the quotes depend on what the viewer may see."""
    return (viewer.id, subject.id, query.month, query.indirect)


def summary_clock(query: SummaryQuery, now: datetime) -> datetime | None:
    """A past month reads the same whenever it is opened (``build_summary``
    looks back from the month's end). The month in progress, or one still to
    come, looks back from now ("counts up to now", "days since last
    recognised", "none in 60+ days"), so its cached summary is made again
    each minute: those figures are at most a minute old, while every change
    to the data still shows at once (new kudos within
    ``KUDOS_CACHE_REFRESH_SECONDS``, see ``kudos/cache.py``)."""
    if query.month < Month.containing(now, org_zone()):
        return None
    return now.replace(second=0, microsecond=0)


def cached_summary(
    viewer: Person, subject: Person, query: SummaryQuery, *, now: datetime
) -> Summary:
    """``build_summary``, reused until the data changes (pages, CSV and API).
    Call it only once the viewer may see ``subject``'s summary."""
    return cache.cached(
        db.session,
        ("summary", summary_key(viewer, subject, query)),
        lambda: build_summary(
            db.session,
            subject,
            query.month,
            now=now,
            zone=org_zone(),
            indirect=query.indirect,
            viewer=viewer,
        ),
        version=summary_clock(query, now),
        counts_kudos=True,
    )


def _managers() -> list[Person]:
    """People with active reports, for an admin to pick from."""
    return list(
        db.session.scalars(
            select(Person).where(Person.has_reports).order_by(Person.name).limit(MANAGERS_LISTED)
        )
    )


def _report(viewer: Person, subject: Person, summary: Summary) -> Markup:
    """The page below the month navigation: it depends only on the summary,
    whose summary it is and whether the viewer is an admin (the managers to
    pick from). The whole page is cached around it (``cache.cached_page``)."""
    return Markup(  # noqa: S704 - rendered by Jinja, which escaped every value
        render_template(
            "summary/_report.html",
            subject=subject,
            summary=summary,
            own=subject.id == viewer.id,
            actions=suggested_actions(summary),
            trend_chart=charts.trend_chart(summary.trend),
            values_chart=charts.values_chart(summary.values),
            managers=_managers() if summary.is_empty and viewer.is_admin else [],
        )
    )


def _page_clock() -> datetime | None:
    """The page is made again when its summary is (``summary_clock``)."""
    now = utcnow()
    query, _ = parse_query(request.args.to_dict(), now=now)
    return summary_clock(query, now) if query else None


def _page_params() -> Hashable | None:
    """What the page shows, parsed: month, whose summary, indirect or not."""
    query, _ = parse_query(request.args.to_dict())
    return query


@bp.get("/manager/summary")
@ratelimit.page
@cache.cached_page(params=_page_params, version=_page_clock, counts_kudos=True)
def page() -> str:
    query, viewer, subject, now = _requested_summary()
    page = {
        "subject": subject,
        "own": subject.id == viewer.id,
        "month": query.month,
        "indirect": query.indirect,
        "current": Month.containing(now, org_zone()),
    }
    if (why := not_started(query.month, now, org_zone())) is not None:
        return render_template("summary/page.html", summary=None, not_started=why, **page)
    summary = cached_summary(viewer, subject, query, now=now)
    return render_template(
        "summary/page.html", summary=summary, report=_report(viewer, subject, summary), **page
    )


@bp.get("/manager/summary.csv")
@ratelimit.page
def csv_export() -> Response:
    query, viewer, subject, now = _requested_summary()
    if (why := not_started(query.month, now, org_zone())) is not None:
        page = render_template(
            "errors/error.html", status=422, title="This month hasn't started", text=why
        )
        return Response(page, status=422, mimetype="text/html")
    summary = cached_summary(viewer, subject, query, now=now)
    return Response(
        summary_csv(summary),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="team-summary-{summary.month}.csv"',
            "Cache-Control": "private, no-store",
        },
    )
