"""Finding people (the recipient picker, suggestions and the API's search),
and deactivating and reactivating them.

Every path that deactivates someone (the directory import today; the admin
console and SCIM later) calls ``deactivate_people``, so that it always ends
their sessions and revokes their API tokens for good. Reactivation gives
back the person, never the old credentials.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from kudos.audit.services import Actor, record
from kudos.leaderboard import rollups
from kudos.people.events import people_deactivated
from kudos.people.models import Person

MAX_RESULTS = 20


def search_people(
    session: Session, query: str, *, limit: int = 10, exclude_id: int | None = None
) -> list[Person]:
    """Active people whose name or e-mail contains every word of ``query``,
    best matches (name starting with the query) first."""
    words = [escape_like(word) for word in query.lower().split()][:5]
    if not words:
        return []
    stmt = select(Person).where(Person.active)
    for word in words:
        pattern = f"%{word}%"
        stmt = stmt.where(
            or_(
                func.lower(Person.name).like(pattern, escape="\\"),
                Person.email.like(pattern, escape="\\"),
            )
        )
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    starts = func.lower(Person.name).like(f"{words[0]}%", escape="\\")
    stmt = stmt.order_by(starts.desc(), Person.name, Person.id).limit(min(limit, MAX_RESULTS))
    return list(session.scalars(stmt))


def escape_like(word: str) -> str:
    """Make LIKE's wildcards literal: a search for "50%" finds "50%"."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def deactivate_people(
    session: Session, person_ids: Iterable[int], *, actor: Actor, now: datetime
) -> list[int]:
    """Deactivate these people (those already inactive are left alone) and
    return who changed. Their session version moves on, which ends every
    session (a cookie made before stays dead after a reactivation); the
    announcement lets ``kudos.auth`` revoke their API tokens. Flushes."""
    ids = _set_active(
        session,
        person_ids,
        False,
        {"session_version": Person.session_version + 1},
        action="person.deactivated",
        actor=actor,
        now=now,
    )
    if ids:
        people_deactivated(session, ids, actor=actor, now=now)
        session.flush()
    return ids


def reactivate_people(
    session: Session, person_ids: Iterable[int], *, actor: Actor, now: datetime
) -> list[int]:
    """Make these people active again; only the person comes back: their
    old sessions and API tokens stay ended. Returns who changed. Flushes."""
    return _set_active(
        session, person_ids, True, {}, action="person.reactivated", actor=actor, now=now
    )


def _set_active(
    session: Session,
    person_ids: Iterable[int],
    active: bool,
    also: dict,
    *,
    action: str,
    actor: Actor,
    now: datetime,
) -> list[int]:
    """Set ``active`` for those of these people not already so, audited, with
    their rollups updated; returns who changed. One bulk statement per chunk,
    which also retires every cached page and signed-in person
    (``kudos/cache.py``). Flushes."""
    ids = _ids_where(session, person_ids, active=not active)
    if not ids:
        return []
    for chunk in _chunks(ids):
        session.execute(
            update(Person)
            .where(Person.id.in_(chunk))
            .values(active=active, updated_at=now, **also)
            .execution_options(synchronize_session="fetch")
        )
    for person_id in ids:
        record(session, actor, action, target_type="person", target_id=person_id)
    rollups.people_changed(session, ids)
    session.flush()
    return ids


def deactivate_person(session: Session, person: Person, *, actor: Actor, now: datetime) -> bool:
    return bool(deactivate_people(session, [person.id], actor=actor, now=now))


def reactivate_person(session: Session, person: Person, *, actor: Actor, now: datetime) -> bool:
    return bool(reactivate_people(session, [person.id], actor=actor, now=now))


def _ids_where(session: Session, person_ids: Iterable[int], *, active: bool) -> list[int]:
    found: list[int] = []
    for chunk in _chunks(sorted(set(person_ids))):
        found += session.scalars(
            select(Person.id).where(Person.id.in_(chunk), Person.active == active)
        )
    return found


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    """Bounded IN lists (SQLite allows only so many parameters)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
