"""Flask-Login wiring: the cookie holds only "person id:session version"."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import undefer

from kudos.auth import access
from kudos.extensions import db, login_manager
from kudos.people.models import Person


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the sign-in page explains itself
    access.init_app(app)


@login_manager.user_loader
def load_person(session_id: str) -> Person | None:
    """Find the signed-in person; a stale session version or a deactivated
    person ends the session."""
    person_id, _, version = session_id.partition(":")
    if not person_id.isdigit() or not version.isdigit():
        return None
    person = db.session.scalar(
        select(Person).where(Person.id == int(person_id)).options(undefer(Person.has_reports))
    )
    if person is None or not person.active or person.session_version != int(version):
        return None
    return person
