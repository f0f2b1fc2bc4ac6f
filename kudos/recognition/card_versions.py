"""What names a kudos card's content, so that a rendered card can be kept
for every viewer until something it shows changes (``recognition.cards``).

A card shows its kudos (message, time, visibility, hidden or not), the
names and initials of its sender and recipients, its values (name, emoji,
link, order) and its applause (how many, and who). Two things name that:

- ``Kudos.revision``: a new random number whenever the kudos or its
  reactions change. Set here for every ORM change of a column the card
  shows and for every reaction added or taken back, and by
  ``refresh_visibility`` for its bulk change of visibility.
- ``directory_generation``: one row whose random token changes when a
  person's name or e-mail (their initials) or a value's name, emoji, slug
  or position changes. Those writes are rare (directory import, sign-in
  claims, admins) and each retires every card at once.

A send writes neither: its kudos starts with a revision of its own, so
sends by different people never meet on a shared row.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import ScalarSelect, String, event, inspect, select, update
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from kudos.db import Base
from kudos.recognition.models import Kudos, Reaction, new_revision

# The kudos columns a card shows.
KUDOS_SHOWN = frozenset({"sender_id", "message", "visibility", "hidden_at", "created_at"})
# The directory's columns a card shows, by table: a person's initials come
# from the e-mail when the name has no letters.
DIRECTORY_SHOWN = {
    "person": frozenset({"name", "email"}),
    "value": frozenset({"name", "slug", "emoji", "position"}),
}


class DirectoryGeneration(Base):
    """The single row whose token changes with every name a card shows."""

    __tablename__ = "directory_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


def new_token() -> str:
    return secrets.token_hex(16)


def current_generation() -> ScalarSelect[str]:
    """The token, as a subquery: a feed page reads it in its one statement."""
    return select(DirectoryGeneration.token).where(DirectoryGeneration.id == 1).scalar_subquery()


def directory_changed(session: Session) -> None:
    """Retire every rendered card when this transaction commits. On the
    connection, not through the session: the row is no page's data."""
    table = DirectoryGeneration.__table__
    session.connection().execute(update(table).values(token=new_token()))


def _changed(item: object, names: frozenset[str]) -> bool:
    attributes = inspect(item).attrs
    return any(attributes[name].history.has_changes() for name in names)


def _directory_change(item: object) -> bool:
    names = DIRECTORY_SHOWN.get(getattr(item, "__tablename__", ""))
    return names is not None and _changed(item, names)


@event.listens_for(Session, "before_flush")
def _new_revisions(session: Session, _context: Any, _instances: Any) -> None:
    """A kudos whose card changes gets a new revision in the same UPDATE."""
    for item in session.dirty:
        if isinstance(item, Kudos) and _changed(item, KUDOS_SHOWN):
            item.revision = new_revision()


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    gone = {item.id for item in session.deleted if isinstance(item, Kudos)}
    applauded = {
        item.kudos_id
        for item in (*session.new, *session.deleted)
        if isinstance(item, Reaction) and item.kudos_id not in gone
    }
    if applauded:
        # On the connection: applause is on no cached page but the card.
        kudos = Kudos.__table__
        session.connection().execute(
            update(kudos).where(kudos.c.id.in_(sorted(applauded))).values(revision=new_revision())
        )
    if any(_directory_change(item) for item in session.dirty):
        directory_changed(session)


@event.listens_for(Session, "do_orm_execute")
def _on_bulk_statement(state: ORMExecuteState) -> None:
    """A bulk UPDATE or DELETE of people or values retires every card,
    unless its rows are given as parameters (the directory import's
    executemany by primary key) and none of them sets a column cards show."""
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    names = DIRECTORY_SHOWN.get(getattr(table, "name", ""))
    if names is None:
        return
    rows = state.parameters
    if (
        state.is_update
        and isinstance(rows, list)
        and rows
        and all(names.isdisjoint(row) for row in rows)
    ):
        return
    directory_changed(state.session)
