"""Monthly leaderboards, read from rollups kept in step with every change.

Rules (PRODUCT.md): boards count *recognitions* (one recipient of one kudos)
in a calendar month of the organisation's time zone. A sender→recipient pair
counts at most 3 times a month, on both boards. Hidden kudos and inactive
people (sender or recipient) never count. People who opted out are not
listed, but what they gave and received still counts for the other side.
Ties share a rank (1, 2, 2, 4), in a fixed order inside a tie (the newest
person in the directory first), which the score index gives for free.
"""

from __future__ import annotations

import functools
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Float, Select, and_, bindparam, cast, func, select
from sqlalchemy.orm import Session, aliased

from kudos import cache
from kudos.leaderboard.models import ALL_VALUES, LeaderboardScore
from kudos.leaderboard.rollups import PAIR_CAP, month_key
from kudos.people.models import Person, initials_of
from kudos.preferences.models import RecognitionPreference
from kudos.reads import read_rows
from kudos.recognition.models import Kudos, Recognition
from kudos.timeutil import Month

Board = Literal["given", "received"]
BOARDS: tuple[Board, ...] = ("given", "received")
DEFAULT_LIMIT = 10


@dataclass(frozen=True)
class Filters:
    value_id: int | None = None
    team_id: int | None = None
    department_id: int | None = None


NO_FILTERS = Filters()


@dataclass(frozen=True)
class Entry:
    rank: int
    person_id: int
    name: str
    score: int

    @property
    def initials(self) -> str:
        return initials_of(self.name)


@dataclass(frozen=True)
class Standings:
    board: Board
    entries: list[Entry]  # the top of the board
    viewer: Entry | None  # the viewer's own line, wherever it is


@functools.cache
def _listed(by_team: bool, by_department: bool) -> Select:
    """People on a board in a month: active, not opted out, in the filters.
    Built once for each kind of filter; ``_bound`` gives the values."""
    score = LeaderboardScore
    stmt = (
        select(
            score.person_id.label("person_id"),
            Person.name.label("name"),
            score.score.label("score"),
        )
        .join(Person, and_(Person.id == score.person_id, Person.active))
        .outerjoin(RecognitionPreference, RecognitionPreference.person_id == Person.id)
        .where(
            score.month == bindparam("month"),
            score.value_id == bindparam("value_id"),
            score.board == bindparam("board"),
            func.coalesce(RecognitionPreference.on_leaderboards, True),
        )
    )
    if by_team:
        stmt = stmt.where(Person.team_id == bindparam("team_id"))
    if by_department:
        stmt = stmt.where(Person.department_id == bindparam("department_id"))
    return stmt


def _bound(board: Board, month: Month, filters: Filters) -> dict[str, object]:
    return {
        "month": month_key(month),
        "value_id": filters.value_id or ALL_VALUES,
        "board": board,
        "team_id": filters.team_id,
        "department_id": filters.department_id,
    }


def _kind(filters: Filters) -> tuple[bool, bool]:
    return filters.team_id is not None, filters.department_id is not None


@dataclass(frozen=True)
class Ranking:
    """A board as everyone sees it, kept in the page cache: its top, and
    every listed person's score, for anyone's line without a query. Arrays
    of 4-byte integers: a board of 100,000 people takes 1.2 MB."""

    top: list[Entry]
    scores: array[int]  # everyone's, lowest first
    person_ids: array[int]  # ascending ...
    person_scores: array[int]  # ... and each one's score

    def score_of(self, person_id: int) -> int | None:
        """``person_id``'s score, if they are listed."""
        index = bisect_left(self.person_ids, person_id)
        if index < len(self.person_ids) and self.person_ids[index] == person_id:
            return self.person_scores[index]
        return None

    def rank_of(self, score: int) -> int:
        """One more than the listed people with a higher score (ties share)."""
        return len(self.scores) - bisect_right(self.scores, score) + 1


def standings(
    session: Session,
    board: Board,
    month: Month,
    *,
    filters: Filters = NO_FILTERS,
    limit: int = DEFAULT_LIMIT,
    viewer_id: int | None = None,
) -> Standings:
    """The top of a board and the viewer's own line wherever it is.

    The board is read from the rollups (see ``rollups.py``) once for
    everyone, and kept in the page cache (``kudos/cache.py``): it is read
    again when kudos arrive, at most once every
    ``KUDOS_CACHE_REFRESH_SECONDS``. The viewer's line is their score
    placed among everyone's by bisection, with no query of its own."""
    shared = cache.cached(
        session,
        ("leaderboard", board, month, filters, limit),
        lambda: _board(session, board, month, filters, limit),
        counts_kudos=True,
    )
    viewer = None
    if viewer_id is not None:
        viewer = next((entry for entry in shared.top if entry.person_id == viewer_id), None)
        score = shared.score_of(viewer_id) if viewer is None else None
        if score is not None:
            # Signed in, the viewer is in the session already: no query.
            name = session.get(Person, viewer_id).name
            viewer = Entry(shared.rank_of(score), viewer_id, name, score)
    return Standings(board, shared.top, viewer)


def _board(session: Session, board: Board, month: Month, filters: Filters, limit: int) -> Ranking:
    # Every listed person's score: thousands of rows, as plain tuples
    # (``kudos.reads``).
    rows = read_rows(session, _everyone(*_kind(filters)), _bound(board, month, filters))
    person_ids = array("i", (person_id for person_id, _ in rows))
    person_scores = array("i", (score for _, score in rows))
    return Ranking(
        _top(session, board, month, filters, limit),
        array("i", sorted(person_scores)),
        person_ids,
        person_scores,
    )


@functools.cache
def _everyone(by_team: bool, by_department: bool) -> Select:
    """Everyone listed and their score, in the score index's order within
    the board: by person."""
    return (
        _listed(by_team, by_department)
        .with_only_columns(LeaderboardScore.person_id, LeaderboardScore.score)
        .order_by(LeaderboardScore.person_id)
    )


@functools.cache
def _best(by_team: bool, by_department: bool, limit: int) -> Select:
    """Exactly the score index's order (backwards): the read stops after
    ``limit`` rows even when thousands of people share the top score."""
    return (
        _listed(by_team, by_department)
        .order_by(LeaderboardScore.score.desc(), LeaderboardScore.person_id.desc())
        .limit(limit)
    )


def _top(session: Session, board: Board, month: Month, filters: Filters, limit: int) -> list[Entry]:
    top = session.execute(_best(*_kind(filters), limit), _bound(board, month, filters)).all()
    entries: list[Entry] = []
    for position, (person_id, name, score) in enumerate(top, start=1):
        # Rows come best first, so a row's rank is its position unless it ties
        # the row above (1, 2, 2, 4).
        rank = entries[-1].rank if entries and entries[-1].score == score else position
        entries.append(Entry(rank, person_id, name, score))
    return entries


@dataclass(frozen=True)
class MutualPair:
    first_id: int
    first_name: str
    second_id: int
    second_name: str
    first_to_second: int
    second_to_first: int
    share: float  # of everything the two gave that month, the part to each other


# A pair is "worth a look" when both directions reach the monthly cap and most
# of what both gave went to each other. Never acted on automatically.
MUTUAL_SHARE = 0.6


def mutual_pairs(session: Session, start: datetime, end: datetime) -> list[MutualPair]:
    """People who mostly thank each other in a month, for admins to look at."""
    sender, recipient = aliased(Person), aliased(Person)
    pairs = (
        select(
            Recognition.sender_id.label("sender_id"),
            Recognition.recipient_id.label("recipient_id"),
            func.count().label("n"),
        )
        .join(Kudos, Kudos.id == Recognition.kudos_id)
        .where(
            Recognition.created_at >= start, Recognition.created_at < end, Kudos.hidden_at.is_(None)
        )
        .group_by(Recognition.sender_id, Recognition.recipient_id)
        .cte("pairs")
    )
    given = (
        select(pairs.c.sender_id.label("person_id"), func.sum(pairs.c.n).label("total"))
        .group_by(pairs.c.sender_id)
        .cte("given")
    )
    there, back = pairs.alias("there"), pairs.alias("back")
    given_first, given_second = given.alias("given_first"), given.alias("given_second")
    exchanged = there.c.n + back.c.n
    rows = session.execute(
        select(
            there.c.sender_id,
            sender.name,
            there.c.recipient_id,
            recipient.name,
            there.c.n,
            back.c.n,
            cast(exchanged, Float) / (given_first.c.total + given_second.c.total),
        )
        .join(
            back,
            and_(
                back.c.sender_id == there.c.recipient_id, back.c.recipient_id == there.c.sender_id
            ),
        )
        .join(given_first, given_first.c.person_id == there.c.sender_id)
        .join(given_second, given_second.c.person_id == there.c.recipient_id)
        .join(sender, sender.id == there.c.sender_id)
        .join(recipient, recipient.id == there.c.recipient_id)
        .where(
            there.c.sender_id < there.c.recipient_id,
            there.c.n >= PAIR_CAP,
            back.c.n >= PAIR_CAP,
            exchanged >= MUTUAL_SHARE * (given_first.c.total + given_second.c.total),
        )
        .order_by(exchanged.desc(), sender.name)
    ).all()
    return [MutualPair(*row[:6], share=float(row[6])) for row in rows]
