"""Finding people: the recipient picker, suggestions and the API's search."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kudos.people.models import Person

MAX_RESULTS = 20


def search_people(
    session: Session, query: str, *, limit: int = 10, exclude_id: int | None = None
) -> list[Person]:
    """Active people whose name or e-mail contains every word of ``query``,
    best matches (name starting with the query) first."""
    words = [_escape_like(word) for word in query.lower().split()][:5]
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


def _escape_like(word: str) -> str:
    """Make LIKE's wildcards literal: a search for "50%" finds "50%"."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
