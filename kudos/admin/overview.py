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
from kudos.timeutil import Month, org_zone


def _month() -> tuple[Month, Month]:
    """The month asked for (this month by default), and this month."""
    zone = org_zone()
    current = Month.containing(utcnow(), zone)
    text = request.args.get("month", "")
    if not text:
        return current, current
    try:
        month = Month.parse(text)
    except ValueError as error:
        abort(400, str(error))
    if month > current:
        abort(400, f"{month} hasn't started yet; the overview goes up to {current}.")
    return month, current


@bp.get("/")
@ratelimit.page
def overview() -> str:
    month, current = _month()
    return render_template(
        "admin/overview.html",
        data=company_overview(db.session, month, org_zone()),
        current=current,
    )


@bp.get("/overview.csv")
@ratelimit.page
def overview_csv() -> Response:
    month, _current = _month()
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
