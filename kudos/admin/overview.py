"""Admin console: the company overview (charts, tables and a CSV export)."""

from __future__ import annotations

import csv
import io

from flask import abort, render_template, request
from werkzeug.wrappers import Response

from kudos import ratelimit
from kudos.admin.blueprint import bp
from kudos.db import utcnow
from kudos.extensions import db
from kudos.summary.company import csv_rows
from kudos.summary.company import overview as company_overview
from kudos.summary.export import neutralise
from kudos.timeutil import Month, not_started, org_zone


def _month() -> tuple[Month, Month, str | None]:
    """The month asked for (this month by default), this month, and why
    the month asked for has nothing yet if it hasn't begun."""
    zone, now = org_zone(), utcnow()
    current = Month.containing(now, zone)
    text = request.args.get("month", "")
    try:
        month = Month.parse(text) if text else current
    except ValueError as error:
        abort(400, str(error))
    return month, current, not_started(month, now, zone)


@bp.get("/")
@ratelimit.page
def overview() -> str:
    month, current, why = _month()
    if why is not None:
        return render_template(
            "admin/overview.html", data=None, month=month, current=current, not_started=why
        )
    return render_template(
        "admin/overview.html",
        data=company_overview(db.session, month, org_zone()),
        month=month,
        current=current,
        not_started=None,
    )


@bp.get("/overview.csv")
@ratelimit.page
def overview_csv() -> Response:
    month, _current, why = _month()
    if why is not None:
        abort(422, why)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv_rows(company_overview(db.session, month, org_zone())):
        writer.writerow([neutralise(cell) for cell in row])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="company-overview-{month}.csv"',
            "Cache-Control": "no-store",
        },
    )
