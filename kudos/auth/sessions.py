"""Flask-Login wiring: the cookie holds only "person id:session version"."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import joinedload, undefer

from kudos import cache
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
    # One statement for everything every page asks about the viewer, and the
    # page cache's token (see ``kudos/cache.py``).
    row = db.session.execute(
        select(Person, cache.token_column())
        .where(Person.id == int(person_id))
        .options(
            undefer(Person.has_reports),
            undefer(Person.has_unseen_recognitions),
            joinedload(Person.preference),
        )
    ).first()
    if row is None:
        return None
    person, token = row
    cache.remember_token(token)
    if not person.active or person.session_version != int(version):
        return None
    return person
