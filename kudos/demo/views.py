"""Demo-only sign-in: pick a demo person. Registered only by ``kudos demo``."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, session
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired

from kudos.auth.access import login_exempt
from kudos.auth.redirects import safe_next_url
from kudos.auth.sessions import begin_session
from kudos.db import utcnow
from kudos.demo.data import demo_people
from kudos.extensions import db
from kudos.people.models import Person

bp = Blueprint("demo", __name__, url_prefix="/demo")


class DemoSignInForm(FlaskForm):
    person_id = IntegerField(validators=[DataRequired()])
    next = HiddenField()


@bp.before_request
def only_in_demo_mode() -> None:
    # Belt and braces: the blueprint is only registered in demo mode anyway.
    if not current_app.config.get("DEMO"):
        abort(404)


@bp.route("/sign-in", methods=["GET", "POST"])
@login_exempt
def sign_in() -> str | Response:
    form = DemoSignInForm()
    if form.validate_on_submit():
        person = db.session.scalar(select(Person).where(Person.id == form.person_id.data))
        if person is None or not person.active:
            abort(404)
        session.clear()  # a fresh session: no fixation
        begin_session(person, now=utcnow())
        person.last_sign_in_at = utcnow()
        db.session.commit()
        flash(f"Signed in as {person.name} (demo).", "success")
        return redirect(safe_next_url())
    people = demo_people(db.session)
    return render_template("demo/sign_in.html", form=form, people=people, next_url=safe_next_url())
