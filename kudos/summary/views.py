"""The manager's summary page and its CSV export."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from config import FALSE_WORDS, TRUE_WORDS
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
from kudos.timeutil import Month, org_zone

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
    args: dict[str, str], *, strict: bool = False
) -> tuple[SummaryQuery | None, dict[str, str]]:
    """``month`` (YYYY-MM, default this month), ``manager`` (an id, for
    admins) and ``indirect`` (true/false); a message per bad argument.

    Pages accept what forms send (an empty field, ``on``); the API (``strict``)
    only ``true`` or ``false`` and an id, as its OpenAPI document says."""
    problems: dict[str, str] = {}
    month = Month.containing(utcnow(), org_zone())
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


def _summary_for_request() -> tuple[SummaryQuery, Person, Summary]:
    query, problems = parse_query(request.args.to_dict())
    if query is None:
        abort(400, " ".join(problems.values()))
    viewer = current_user._get_current_object()
    try:
        subject = summary_subject(db.session, viewer, query.manager_id)
    except SummaryForbidden:
        abort(403, NOT_YOURS if query.manager_id not in (None, viewer.id) else NOT_A_MANAGER)
    except SummaryNotFound:
        abort(404, f"There is nobody with the id {query.manager_id} in the directory.")
    summary = build_summary(
        db.session,
        subject,
        query.month,
        now=utcnow(),
        zone=org_zone(),
        indirect=query.indirect,
        viewer=viewer,
    )
    return query, subject, summary


def _managers() -> list[Person]:
    """People with active reports, for an admin to pick from."""
    return list(
        db.session.scalars(
            select(Person).where(Person.has_reports).order_by(Person.name).limit(MANAGERS_LISTED)
        )
    )


@bp.get("/manager/summary")
def page() -> str:
    query, subject, summary = _summary_for_request()
    current = Month.containing(utcnow(), org_zone())
    return render_template(
        "summary/page.html",
        query=query,
        subject=subject,
        summary=summary,
        own=subject.id == current_user.id,
        current=current,
        actions=suggested_actions(summary),
        trend_chart=charts.trend_chart(summary.trend),
        values_chart=charts.values_chart(summary.values),
        managers=_managers() if summary.is_empty and current_user.is_admin else [],
    )


@bp.get("/manager/summary.csv")
def csv_export() -> Response:
    _, _, summary = _summary_for_request()
    return Response(
        summary_csv(summary),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="team-summary-{summary.month}.csv"',
            "Cache-Control": "private, no-store",
        },
    )
