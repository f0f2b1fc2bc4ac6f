"""People pages: profiles (received and given), team feeds, suggestions."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from kudos import ratelimit
from kudos.extensions import db
from kudos.people import former_slugs
from kudos.people.models import Person, Team
from kudos.people.services import search_people
from kudos.preferences.services import summary as preference_summary
from kudos.recognition import feed
from kudos.recognition.forms import ActionForm
from kudos.recognition.views import feed_page

bp = Blueprint("people", __name__)


@bp.get("/people/<id:person_id>")
@ratelimit.page
def profile(person_id: int) -> str:
    person = db.session.get(Person, person_id) or abort(404)
    tab = request.args.get("tab", "received")
    if tab not in ("received", "given"):
        abort(400, "Choose the kudos received or given.")
    where = feed.received_by(person.id) if tab == "received" else feed.given_by(person.id)
    reports = db.session.scalars(
        select(Person).where(Person.manager_id == person.id, Person.active).order_by(Person.name)
    ).all()
    return render_template(
        "people/profile.html",
        person=person,
        tab=tab,
        reports=reports,
        preferences=preference_summary(person),
        page=feed_page(where),
        actions=ActionForm(),
    )


@bp.get("/teams/<slug>")
@ratelimit.page
def team(slug: str) -> str | Response:
    team = db.session.scalar(select(Team).where(Team.slug == slug))
    if team is None:
        # A team renamed or merged: old links lead to the team it became.
        moved = former_slugs.target_of(db.session, "team", slug)
        team = db.session.get(Team, moved) if moved is not None else abort(404)
        return redirect(url_for("people.team", slug=team.slug), 301)
    members = db.session.scalars(
        select(Person).where(Person.team_id == team.id, Person.active).order_by(Person.name)
    ).all()
    return render_template(
        "people/team.html",
        team=team,
        members=members,
        page=feed_page(feed.for_team(team.id)),
        actions=ActionForm(),
    )


@bp.get("/people/suggest")
def suggest() -> Response:
    """Suggestions for the recipient picker as the sender types."""
    people = search_people(
        db.session, request.args.get("q", "")[:100], limit=8, exclude_id=current_user.id
    )
    return jsonify(
        [
            {
                "id": person.id,
                "name": person.name,
                "initials": person.initials,
                "detail": " · ".join(
                    filter(None, [person.title, person.team and person.team.name])
                ),
            }
            for person in people
        ]
    )
