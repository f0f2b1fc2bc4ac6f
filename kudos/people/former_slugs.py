"""Old addresses of renamed or merged values, teams and departments."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from kudos.people.models import FormerSlug


def remember(session: Session, kind: str, slug: str, target_id: int) -> None:
    """``slug`` now leads to ``target_id`` (its thing was renamed or merged)."""
    found = session.scalar(
        select(FormerSlug).where(FormerSlug.kind == kind, FormerSlug.slug == slug)
    )
    if found is None:
        session.add(FormerSlug(kind=kind, slug=slug, target_id=target_id))
    else:
        found.target_id = target_id


def follow_merge(session: Session, kind: str, merged_id: int, target_id: int) -> None:
    """Old slugs of a merged team or department lead to the one it joined."""
    session.execute(
        update(FormerSlug)
        .where(FormerSlug.kind == kind, FormerSlug.target_id == merged_id)
        .values(target_id=target_id)
    )


def forget(session: Session, kind: str, slug: str) -> None:
    """``slug`` is in use again (a thing renamed back): no longer a redirect."""
    session.execute(delete(FormerSlug).where(FormerSlug.kind == kind, FormerSlug.slug == slug))


def target_of(session: Session, kind: str, slug: str) -> int | None:
    return session.scalar(
        select(FormerSlug.target_id).where(FormerSlug.kind == kind, FormerSlug.slug == slug)
    )


def targets(session: Session, kind: str) -> dict[str, int]:
    """Every old slug of ``kind`` and where it leads now."""
    return dict(
        session.execute(
            select(FormerSlug.slug, FormerSlug.target_id).where(FormerSlug.kind == kind)
        ).all()
    )
