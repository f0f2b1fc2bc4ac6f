"""Flask-Login wiring: the cookie holds only "person id:session version"
and when the person signed in.

A session has an absolute lifetime (``KUDOS_SESSION_HOURS``, 12 by default)
counted from sign-in, however busy the person is: then they sign in at the
provider again, which reads the admin group and profile claims again. The
cookie's own expiry never goes past that moment either.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cachetools import LRUCache
from flask import Flask, Request, current_app, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_login import login_user
from itsdangerous import BadSignature
from sqlalchemy import ColumnElement, Select, bindparam, inspect, select
from sqlalchemy.orm import ColumnProperty
from sqlalchemy.orm.attributes import set_committed_value

from kudos import cache
from kudos.auth import access
from kudos.auth.models import ApiToken
from kudos.db import utcnow, valid_ids
from kudos.extensions import db, login_manager
from kudos.people.models import Department, Person, Team
from kudos.preferences.models import RecognitionPreference
from kudos.reads import AnySession, detached, read_rows

SIGNED_IN_AT_KEY = "kudos_signed_in_at"
# Session values a kept copy can share with every request's copy.
_PLAIN = (str, int, float, bool, type(None))


# Session cookies already verified, by their exact text, for at most this
# long: checking the signature and decoding the cookie took a tenth of a
# page served from the cache.
VERIFIED_FOR = 60.0  # seconds
VERIFIED_KEPT = 4096  # cookies, in each worker


class LifetimeSessionInterface(SecureCookieSessionInterface):
    """Signed cookies whose expiry stops at the end of the session's lifetime,
    whenever the cookie is written.

    A cookie whose signature was checked keeps its decoded contents for
    ``VERIFIED_FOR`` seconds (never past the signature's own expiry): the
    same text signs the same contents, and each request gets its own copy.
    Only contents of plain values are kept (no flashed messages)."""

    def __init__(self) -> None:
        self._verified: LRUCache[str, tuple[float, dict[str, Any]]] = LRUCache(VERIFIED_KEPT)
        self._lock = threading.Lock()

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        text = request.cookies.get(self.get_cookie_name(app))
        if not text:
            return super().open_session(app, request)
        now = time.monotonic()
        with self._lock:
            found = self._verified.get(text)
        if found is not None and now < found[0]:
            return self.session_class(found[1])
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        max_age = app.permanent_session_lifetime.total_seconds()
        try:
            data, signed_at = serializer.loads(text, max_age=int(max_age), return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if all(isinstance(value, _PLAIN) for value in data.values()):
            left = max_age - (datetime.now(UTC) - signed_at).total_seconds()
            with self._lock:
                self._verified[text] = (now + min(VERIFIED_FOR, left), dict(data))
        return self.session_class(data)

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        expires = super().get_expiration_time(app, session)
        ends = session_ends_at(session.get(SIGNED_IN_AT_KEY), app)
        if expires is None or ends is None:
            return expires
        return min(expires, ends)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the sign-in page explains itself
    app.session_interface = LifetimeSessionInterface()
    # The cookie's expiry is fixed at sign-in (``get_expiration_time``), so
    # renewing it on every response changed nothing but cost a signature
    # and a Set-Cookie header each time: it is written when it changes.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    access.init_app(app)


def begin_session(person: Person, *, now: datetime) -> None:
    """Sign ``person`` in to a fresh session (the caller has cleared the old
    one) and start the clock on its lifetime."""
    session.permanent = True
    login_user(person)
    session[SIGNED_IN_AT_KEY] = int(now.timestamp())


def session_ends_at(signed_in_at: object, app: Flask) -> datetime | None:
    """When a session begun at ``signed_in_at`` (seconds since the epoch) ends."""
    if not isinstance(signed_in_at, int) or isinstance(signed_in_at, bool):
        return None
    try:
        begun = datetime.fromtimestamp(signed_in_at, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return begun + timedelta(hours=app.config["SESSION_HOURS"])


def _within_lifetime(now: datetime) -> bool:
    """A session without a sign-in time (made before Kudos kept one, or
    forged) has none left; at its end exactly it is over."""
    ends = session_ends_at(session.get(SIGNED_IN_AT_KEY), current_app)
    return ends is not None and now < ends


@login_manager.user_loader
def load_person(session_id: str) -> Person | None:
    """Find the signed-in person; a stale session version, a deactivated
    person or a session past its lifetime ends the session."""
    person_id, _, version = session_id.partition(":")
    if not person_id.isdigit() or not version.isdigit() or not valid_ids([int(person_id)]):
        return None
    found = read_signed_in(int(person_id))
    if found is None:
        return None
    fresh, snapshot = found
    # A copy in this request's session, without a query: the snapshot itself
    # stays as it was read, for the next request.
    person = db.session.merge(snapshot, load=False)
    set_committed_value(person, "has_unseen_recognitions", fresh.unseen)
    if not person.active or person.session_version != int(version):
        return None
    if not _within_lifetime(utcnow()):
        return None
    return person


def read_signed_in(person_id: int) -> tuple[cache.Freshness, Person] | None:
    """This request's cache freshness, with whether the person has news,
    and the person as kept in the cache. When this worker keeps no such
    person, their row is read in the same round trip as the freshness, and
    made into the kept person; when it does, the freshness alone (a
    lighter statement) and the row only if the token turns out to have
    changed.

    The kept person has everything every page asks about them (team,
    department, preferences, whether anybody reports to them), detached.
    Whether they have news is not part of it: a send keeps the cache, and
    each request reads that. Made from the plain row here: this is every
    signed-in person's first request in a worker, and the ORM's loading of
    the same took most of that request's time."""
    key = _kept_key(person_id)
    if cache.probably_kept(key):
        # Most requests: the kept person holds, and the freshness alone is read.
        fresh = cache.freshness(db.session, viewer_id=person_id)
        snapshot = cache.cached(db.session, key, lambda: _read_person(person_id))
        return None if snapshot is None else (fresh, snapshot)
    rows = read_rows(db.session, _signed_in_query(), {"person_id": person_id})
    return _kept_from(db.session, person_id, rows[0]) if rows else None


def _kept_key(person_id: int) -> tuple[str, int]:
    return ("signed-in person", person_id)


def _kept_from(
    db_session: AnySession, person_id: int, row: Sequence[Any]
) -> tuple[cache.Freshness, Person]:
    """From a ``_signed_in_query`` row: the request's freshness, remembered,
    and the person as kept in the cache (made from the row if not kept)."""
    fresh = cache.remember_freshness(*row[:FRESHNESS_COLUMNS])
    person_row = row[FRESHNESS_COLUMNS:]
    snapshot = cache.cached(db_session, _kept_key(person_id), lambda: _person_from(person_row))
    return fresh, snapshot


def _read_person(person_id: int) -> Person | None:
    rows = read_rows(db.session, _signed_in_query(), {"person_id": person_id})
    return _person_from(rows[0][FRESHNESS_COLUMNS:]) if rows else None


FRESHNESS_COLUMNS = 3  # first in ``_signed_in_query``


def _person_from(row: Sequence[object]) -> Person:
    values = iter(row)
    person = detached(Person, _columns(Person, values))
    set_committed_value(person, "has_reports", bool(next(values)))
    for name, model in (("team", Team), ("department", Department)):
        found = _columns(model, values)
        set_committed_value(person, name, detached(model, found) if found["id"] else None)
    found = _columns(RecognitionPreference, values)
    preference = detached(RecognitionPreference, found) if found["person_id"] else None
    set_committed_value(person, "preference", preference)
    if preference is not None:
        set_committed_value(preference, "person", person)
    return person


def _columns(model: type, values: Iterator[object]) -> dict[str, object]:
    """The next values of a ``_signed_in_query`` row, by ``model``'s attributes."""
    return {attribute.key: next(values) for attribute in _loaded(model)}


@functools.cache
def _loaded(model: type) -> tuple[ColumnProperty, ...]:
    """What a query loads of ``model``: its columns, not what is deferred
    (``Person.has_reports`` is read on its own; ``has_unseen_recognitions``
    with each request)."""
    return tuple(attribute for attribute in inspect(model).column_attrs if not attribute.deferred)


def _expressions(model: type) -> list[ColumnElement[object]]:
    return [attribute.expression for attribute in _loaded(model)]


@functools.cache
def _signed_in_query(*, by_token: bool = False) -> Select:
    """Built once (after every model is mapped): the cache's freshness, then
    the person's columns in the order ``_person_from`` takes them. Teams,
    departments and preferences outer-joined: a person may have none.

    ``by_token``: the holder of the API token whose hash is bound, with the
    token's ``TOKEN_COLUMNS`` first."""
    person, team, department = Person.__table__, Team.__table__, Department.__table__
    preference = RecognitionPreference.__table__
    columns = [
        *cache.freshness_columns(person.c.id),
        *_expressions(Person),
        Person.has_reports.expression,
        *_expressions(Team),
        *_expressions(Department),
        *_expressions(RecognitionPreference),
    ]
    people = (
        person.outerjoin(team, team.c.id == person.c.team_id)
        .outerjoin(department, department.c.id == person.c.department_id)
        .outerjoin(preference, preference.c.person_id == person.c.id)
    )
    if not by_token:
        return select(*columns).select_from(people).where(person.c.id == bindparam("person_id"))
    token = ApiToken.__table__
    return (
        select(*(token.c[name] for name in TOKEN_COLUMNS), *columns)
        .select_from(token.join(people, person.c.id == token.c.person_id))
        .where(token.c.token_hash == bindparam("token_hash"))
    )


TOKEN_COLUMNS = ("id", "person_id", "revoked_at", "expires_at", "last_used_at")


def read_token_holder(
    db_session: AnySession, token_hash: str
) -> tuple[Sequence[Any], Person] | None:
    """The API token with this hash (``TOKEN_COLUMNS``) and its holder, in
    ``db_session``, in one round trip; None for no such token. As for a
    signed-in person, the request's freshness is read with them, and the
    holder as kept in the cache stands in for the row when it holds."""
    rows = read_rows(db_session, _signed_in_query(by_token=True), {"token_hash": token_hash})
    if not rows:
        return None
    token, row = rows[0][: len(TOKEN_COLUMNS)], rows[0][len(TOKEN_COLUMNS) :]
    fresh, snapshot = _kept_from(db_session, token[TOKEN_COLUMNS.index("person_id")], row)
    holder = db_session.merge(snapshot, load=False)
    set_committed_value(holder, "has_unseen_recognitions", fresh.unseen)
    return token, holder
