"""The monthly leaderboard page: "top appreciators" first, then received."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from kudos import cache, ratelimit
from kudos.db import utcnow
from kudos.extensions import db
from kudos.leaderboard.services import BOARDS, Filters, Standings, standings
from kudos.people.models import Department, Team
from kudos.recognition.models import Value
from kudos.timeutil import Month, not_started, org_zone

bp = Blueprint("leaderboard", __name__)


@dataclass(frozen=True)
class Choice:
    """A value, team or department the boards can be filtered by."""

    id: int
    slug: str
    label: str


@dataclass(frozen=True)
class Choices:
    values: tuple[Choice, ...]
    teams: tuple[Choice, ...]
    departments: tuple[Choice, ...]

    def find(self, kind: str, slug_or_name: str) -> Choice | None:
        """By slug, or (teams are typed in) by name, whatever the case."""
        wanted = slug_or_name.strip().casefold()
        return next(
            (
                choice
                for choice in getattr(self, kind)
                if choice.slug == slug_or_name or choice.label.casefold() == wanted
            ),
            None,
        )


# Teams the filter suggests before anything is typed, and as the viewer types.
TEAMS_LISTED = 50
TEAMS_SUGGESTED = 20
# Query argument → the Choices field it names.
FILTERS = {"value": "values", "team": "teams", "department": "departments"}


@dataclass(frozen=True)
class Query:
    month: Month
    filters: Filters
    value: Choice | None
    team: Choice | None
    department: Choice | None


def filter_choices(session: Session) -> Choices:
    """Every value, team and department, read once until one changes."""

    def read() -> Choices:
        values = session.execute(
            select(Value.id, Value.slug, Value.emoji, Value.name).order_by(Value.position)
        )
        # Plain rows: a large company has thousands of teams.
        teams = session.execute(select(Team.id, Team.slug, Team.name).order_by(Team.name))
        departments = session.execute(
            select(Department.id, Department.slug, Department.name).order_by(Department.name)
        )
        return Choices(
            values=tuple(Choice(id, slug, f"{emoji} {name}") for id, slug, emoji, name in values),
            teams=tuple(Choice(*row) for row in teams),
            departments=tuple(Choice(*row) for row in departments),
        )

    return cache.cached(session, ("leaderboard filter choices",), read)


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
    choices = filter_choices(db.session) if any(args.get(name) for name in FILTERS) else None

    def lookup(name: str) -> Choice | None:
        slug = args.get(name)
        if not slug:
            return None
        found = choices.find(FILTERS[name], slug)
        if found is None:
            problems[name] = f"There is no {name} {slug!r}."
        return found

    value, team, department = lookup("value"), lookup("team"), lookup("department")
    if problems:
        return None, problems
    filters = Filters(
        value_id=value.id if value else None,
        team_id=team.id if team else None,
        department_id=department.id if department else None,
    )
    return Query(month, filters, value, team, department), {}


def filter_form(query: Query) -> Markup:
    """The filters panel, made once per month and filters until data changes."""
    return cache.cached(
        db.session,
        ("leaderboard filter form", query.month, query.filters),
        lambda: Markup(  # noqa: S704 - rendered by Jinja, which escaped every value
            render_template(
                "leaderboard/_filters.html",
                query=query,
                choices=filter_choices(db.session),
                teams_listed=TEAMS_LISTED,
            )
        ),
    )


def boards_for(query: Query, viewer_id: int) -> tuple[list[Standings], dict[str, Markup]]:
    """Both boards as ``viewer_id`` sees them, from the boards everyone
    shares (``standings``), and each board's top as HTML with their own
    row marked (for ``_boards.html``)."""
    boards = [
        standings(db.session, board, query.month, filters=query.filters, viewer_id=viewer_id)
        for board in BOARDS
    ]
    lists = {board.board: _marked(board_list(query, board), viewer_id) for board in boards}
    return boards, lists


def board_list(query: Query, board: Standings) -> str:
    """A board's top as HTML, made once for every viewer: again exactly
    when the top it shows changes."""
    return cache.cached(
        db.session,
        ("leaderboard list", board.board, query.month, query.filters),
        lambda: render_template("leaderboard/_board_list.html", board=board),
        version=tuple(board.entries),
    )


def _marked(html: str, viewer_id: int) -> Markup:
    """The viewer's own row marked, if they are in the top."""
    row = f'<li class="board__row" data-person="{viewer_id}"'
    mine = f'<li class="board__row board__row--me" data-person="{viewer_id}"'
    return Markup(html.replace(row, mine))  # noqa: S704 - rendered by Jinja, which escaped every value


@bp.get("/leaderboard/teams")
def team_suggestions() -> Response:
    """Team names containing ``q``, for the team filter as the viewer types
    (a company can have thousands of teams: too many for a drop-down)."""
    typed = request.args.get("q", "")[:100].strip().casefold()
    teams = filter_choices(db.session).teams
    found = [team.label for team in teams if typed in team.label.casefold()] if typed else []
    found.sort(key=lambda name: (not name.casefold().startswith(typed), name))
    return jsonify(found[:TEAMS_SUGGESTED])


@bp.get("/leaderboard")
@ratelimit.page
def page() -> str:
    """Made for each viewer from pieces everyone shares: the filters and
    the boards (kept in the page cache), and the viewer's own lines."""
    query, problems = parse_query(request.args.to_dict())
    if query is None:
        abort(400, " ".join(problems.values()))
    now, zone = utcnow(), org_zone()
    current = Month.containing(now, zone)
    opted_out = current_user.preference is not None and not current_user.preference.on_leaderboards
    if (why := not_started(query.month, now, zone)) is not None:
        # No boards to be first on: the month is still to come.
        return render_template(
            "leaderboard/page.html",
            query=query,
            current=current,
            not_started=why,
            opted_out=opted_out,
        )
    boards, lists = boards_for(query, current_user.id)
    return render_template(
        "leaderboard/page.html",
        query=query,
        current=current,
        filters=filter_form(query),
        boards=boards,
        lists=lists,
        opted_out=opted_out,
    )
