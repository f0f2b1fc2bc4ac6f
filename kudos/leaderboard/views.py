"""The monthly leaderboard page: "top appreciators" first, then received."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from kudos.db import utcnow
from kudos.extensions import db
from kudos.leaderboard.services import Filters, standings
from kudos.people.models import Department, Team
from kudos.recognition.models import Value
from kudos.timeutil import Month, org_zone

bp = Blueprint("leaderboard", __name__)


@dataclass(frozen=True)
class Query:
    month: Month
    filters: Filters
    value: Value | None
    team: Team | None
    department: Department | None


def parse_query(args: dict[str, str]) -> tuple[Query | None, dict[str, str]]:
    """Month and filters from query arguments; problems per argument."""
    problems: dict[str, str] = {}
    zone = org_zone()
    current = Month.containing(utcnow(), zone)
    month = current
    if args.get("month"):
        try:
            month = Month.parse(args["month"])
        except ValueError as error:
            problems["month"] = str(error)

    def lookup(model, name):  # noqa: ANN001, ANN202
        slug = args.get(name)
        if not slug:
            return None
        found = db.session.scalar(select(model).where(model.slug == slug))
        if found is None:
            problems[name] = f"There is no {name} {slug!r}."
        return found

    value, team, department = (
        lookup(Value, "value"),
        lookup(Team, "team"),
        lookup(Department, "department"),
    )
    if problems:
        return None, problems
    filters = Filters(
        value_id=value.id if value else None,
        team_id=team.id if team else None,
        department_id=department.id if department else None,
    )
    return Query(month, filters, value, team, department), {}


@bp.get("/leaderboard")
def page() -> str:
    query, problems = parse_query(request.args.to_dict())
    if query is None:
        abort(400, " ".join(problems.values()))
    current = Month.containing(utcnow(), org_zone())
    boards = [
        standings(db.session, board, query.month, filters=query.filters, viewer_id=current_user.id)
        for board in ("given", "received")
    ]
    return render_template(
        "leaderboard/page.html",
        query=query,
        boards=boards,
        current=current,
        values=db.session.scalars(select(Value).order_by(Value.position)).all(),
        # Plain (slug, name) rows: a large company has thousands of teams.
        teams=db.session.execute(select(Team.slug, Team.name).order_by(Team.name)).all(),
        departments=db.session.execute(
            select(Department.slug, Department.name).order_by(Department.name)
        ).all(),
        opted_out=current_user.preference is not None
        and not current_user.preference.on_leaderboards,
    )
