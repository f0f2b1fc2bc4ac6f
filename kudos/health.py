"""Health checks for load balancers, without sign-in.

``/healthz`` (liveness): is the process up and the database reachable? One
``SELECT 1``.

``/readyz`` (readiness): should traffic come here? Also checks that the
schema is at this version's migrations, so a server whose database is behind
(``kudos db upgrade`` not run yet) gets none. One query on Alembic's version
table; the migrations' heads are read from disk once per process. A database
a newer Kudos has already upgraded still counts as ready: during a rolling
upgrade (``kudos db upgrade`` first, then each server) the servers still on
the old version keep serving. The answers name revisions, never the
database's address.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from kudos import revisions
from kudos.auth.access import login_exempt
from kudos.extensions import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

Answer = tuple[dict[str, str | None], int]
UNREACHABLE: Answer = ({"status": "unavailable", "database": "unreachable"}, 503)


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        return False
    return True


@bp.get("/healthz")
@login_exempt
def healthz() -> Answer:
    if not _database_answers():
        return UNREACHABLE
    return {"status": "ok", "database": "ok"}, 200


@bp.get("/readyz")
@login_exempt
def readyz() -> Answer:
    try:
        schema = revisions.state_of(db.session)
    except SQLAlchemyError as exc:
        log.warning("readiness check: database unreachable: %s", type(exc).__name__)
        return UNREACHABLE
    current, head = schema.shown(schema.current), schema.shown(schema.heads)
    answer: dict[str, str | None] = {"database": "ok", "revision": current, "head": head}
    if schema.state == "at head":
        return {"status": "ready", **answer}, 200
    if schema.state == "newer":
        return {"status": "ready", **answer, "note": "upgraded by a newer version of Kudos"}, 200
    log.warning("readiness check: database schema %s (%s, head %s)", schema.state, current, head)
    reasons = {
        "empty": "the database has no Kudos tables yet: run `kudos db upgrade`",
        "behind": f"the database is at revision {current}, not {head}: run `kudos db upgrade`",
        "foreign": f"the database is at revision {current}, not one of Kudos': "
        "is KUDOS_DATABASE_URL another application's database?",
    }
    return {
        "status": "unavailable",
        **answer,
        "database": schema.state,
        "reason": reasons[schema.state],
    }, 503
