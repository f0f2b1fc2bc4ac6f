"""Feeds: newest first, paged by keyset on (created_at, id) — never OFFSET."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

import kudos.models  # noqa: F401 - every mapper known before the loader options below
from kudos.db import valid_ids
from kudos.people.models import Person
from kudos.reads import read_rows
from kudos.recognition.card_versions import current_generation
from kudos.recognition.models import Kudos, Reaction, Recognition, kudos_value
from kudos.recognition.visibility import Viewer, visible_to

PAGE_SIZE = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (created_at, id) of its last kudos."""

    created_at: datetime
    kudos_id: int

    def encode(self) -> str:
        micros = (self.created_at - EPOCH) // MICROSECOND
        return f"{micros}.{self.kudos_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """``ValueError`` for anything ``encode`` cannot have written, including
        forged positions past year 9999 or past the id column's range."""
        micros, dot, kudos_id = text.partition(".")
        if (
            not dot
            or not (micros.isascii() and micros.isdigit() and len(micros) <= 18)
            or not (kudos_id.isascii() and kudos_id.isdigit() and valid_ids([int(kudos_id)]))
        ):
            raise ValueError(f"{text!r} is not a feed position")
        try:
            moment = EPOCH + int(micros) * MICROSECOND
        except OverflowError:
            raise ValueError(f"{text!r} is not a feed position") from None
        return cls(moment, int(kudos_id))


@dataclass(frozen=True)
class FeedPage:
    items: list[Kudos]
    older: Cursor | None


CARD_LOADING = (
    joinedload(Kudos.sender),
    selectinload(Kudos.recognitions).joinedload(Recognition.recipient),
    selectinload(Kudos.values),
    selectinload(Kudos.reactions).joinedload(Reaction.person),
)


def kudos_with_details(session: Session, kudos_id: int) -> Kudos | None:
    """One kudos with everything a card shows, in four queries at most."""
    return session.scalar(
        select(Kudos)
        .where(Kudos.id == kudos_id)
        .options(*CARD_LOADING)
        .execution_options(populate_existing=True)
    )


def _newest_first(
    stmt: Select[Any],
    viewer: Viewer,
    where: ColumnElement[bool] | None,
    before: Cursor | None,
    size: int,
) -> Select[Any]:
    """``stmt`` limited to what ``viewer`` may see, one page (and one more
    row, to tell whether there are older ones) before ``before``."""
    stmt = (
        stmt.where(visible_to(viewer))
        .order_by(Kudos.created_at.desc(), Kudos.id.desc())
        .limit(size + 1)
    )
    if where is not None:
        stmt = stmt.where(where)
    if before is not None:
        stmt = stmt.where(
            or_(
                Kudos.created_at < before.created_at,
                and_(Kudos.created_at == before.created_at, Kudos.id < before.kudos_id),
            )
        )
    return stmt


def feed_page(
    session: Session,
    viewer: Person,
    *,
    where: ColumnElement[bool] | None = None,
    before: Cursor | None = None,
    size: int | None = None,
) -> FeedPage:
    size = size or PAGE_SIZE
    stmt = _newest_first(select(Kudos).options(*CARD_LOADING), viewer, where, before, size)
    rows = list(session.scalars(stmt).unique())
    items = rows[:size]
    older = Cursor(items[-1].created_at, items[-1].id) if len(rows) > size else None
    return FeedPage(items, older)


@dataclass(frozen=True)
class CardRef:
    """One kudos of a feed page, as far as its card is concerned: which
    content it shows (id and revision) and the viewer's part."""

    kudos_id: int
    created_at: datetime
    revision: int
    reacted: bool  # whether the viewer applauded it
    own: str | None = None  # "sent" or "received" when it is the viewer's own kudos


@dataclass(frozen=True)
class CardRefs:
    items: list[CardRef]
    older: Cursor | None
    # The directory's generation (``card_versions``); None when the page is empty.
    generation: str | None


def card_refs(
    session: Session,
    viewer: Person,
    *,
    where: ColumnElement[bool] | None = None,
    before: Cursor | None = None,
    size: int | None = None,
) -> CardRefs:
    """The page ``feed_page`` gives, in one statement, without the cards'
    content: the cards themselves come from the card cache."""
    size = size or PAGE_SIZE
    if where is None and before is None:
        # The page opened most: on PostgreSQL, outside any transaction.
        statement = _first_page(viewer.team_id is not None, size)
        parameters = {"viewer_id": viewer.id, "viewer_team_id": viewer.team_id}
        rows = read_rows(session, statement, parameters)
    else:
        rows = session.execute(_refs(viewer, where, before, size)).all()
    items = [
        CardRef(row[0], row[1], row[2], bool(row[3]), _own(row[5], row[6])) for row in rows[:size]
    ]
    older = Cursor(items[-1].created_at, items[-1].kudos_id) if len(rows) > size else None
    return CardRefs(items, older, rows[0][4] if rows else None)


def _refs(
    viewer: Viewer, where: ColumnElement[bool] | None, before: Cursor | None, size: int
) -> Select[Any]:
    reacted = exists().where(Reaction.kudos_id == Kudos.id, Reaction.person_id == viewer.id)
    # The sender and the recipients may not applaud: their card says why.
    sent = Kudos.sender_id == viewer.id
    received = exists().where(
        Recognition.kudos_id == Kudos.id, Recognition.recipient_id == viewer.id
    )
    columns = select(
        Kudos.id, Kudos.created_at, Kudos.revision, reacted, current_generation(), sent, received
    )
    return _newest_first(columns, viewer, where, before, size)


def _own(sent: object, received: object) -> str | None:
    return "sent" if sent else "received" if received else None


@functools.cache
def _first_page(has_team: bool, size: int) -> Select[Any]:
    """The company feed's first page, built once for each kind of viewer
    (with a team or without), the viewer bound at each run: it is the page
    opened most, and building the statement took half as long as running it."""
    viewer = SimpleNamespace(
        id=bindparam("viewer_id"), team_id=bindparam("viewer_team_id") if has_team else None
    )
    return _refs(viewer, None, None, size)


def with_details(session: Session, ids: list[int]) -> list[Kudos]:
    """The kudos with these ids and everything their cards show, in four
    queries whatever their number."""
    return list(
        session.scalars(
            select(Kudos)
            .where(Kudos.id.in_(ids))
            .options(*CARD_LOADING)
            .execution_options(populate_existing=True)
        ).unique()
    )


# Filters for the feeds (and the API's list): each is a WHERE clause over Kudos.


def for_team(team_id: int) -> ColumnElement[bool]:
    """Kudos received by anyone in the team."""
    return Kudos.id.in_(
        select(Recognition.kudos_id)
        .join(Person, Person.id == Recognition.recipient_id)
        .where(Person.team_id == team_id)
    )


def received_by(person_id: int) -> ColumnElement[bool]:
    return Kudos.id.in_(select(Recognition.kudos_id).where(Recognition.recipient_id == person_id))


def given_by(person_id: int) -> ColumnElement[bool]:
    return Kudos.sender_id == person_id


def with_value(value_id: int) -> ColumnElement[bool]:
    return Kudos.id.in_(select(kudos_value.c.kudos_id).where(kudos_value.c.value_id == value_id))
