"""Flask-Login wiring: the cookie holds only "person id:session version"."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, undefer

from kudos import cache
from kudos.auth import access
from kudos.db import valid_ids
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
    if not person_id.isdigit() or not version.isdigit() or not valid_ids([int(person_id)]):
        return None
    snapshot = cache.cached(
        db.session, ("signed-in person", int(person_id)), lambda: _snapshot(int(person_id))
    )
    if snapshot is None:
        return None
    # A copy in this request's session, without a query: the snapshot itself
    # stays as it was read, for the next request.
    person = db.session.merge(snapshot, load=False)
    if not person.active or person.session_version != int(version):
        return None
    return person


def _snapshot(person_id: int) -> Person | None:
    """The person with everything every page asks about them, read in a
    session of its own and then detached from it, ready to be cached until
    anything changes (see ``kudos/cache.py``)."""
    with Session(bind=db.session.connection()) as loader:
        return loader.scalar(
            select(Person)
            .where(Person.id == person_id)
            .options(
                undefer(Person.has_reports),
                undefer(Person.has_unseen_recognitions),
                joinedload(Person.preference),
            )
        )
