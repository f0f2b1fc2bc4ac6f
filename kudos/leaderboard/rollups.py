"""Keeping the leaderboard rollups in step with the recognitions.

Every change goes through ``count_kudos`` (+1 when a kudos is sent or
restored, -1 when it is deleted or hidden) or ``people_changed`` (someone
was deactivated or reactivated), inside the caller's transaction. A new
kudos adds to the scores it changes (two statements, whatever the history);
the rare changes that take kudos or people out recompute the scores of just
the people touched. ``rebuild`` recomputes everything from the recognitions.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Collection, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert, ReturningInsert

from kudos import cache
from kudos.db import indexes_built_after
from kudos.leaderboard.models import ALL_VALUES, LeaderboardPair, LeaderboardScore
from kudos.people.models import Person
from kudos.progress_callback import OnProgress, silent
from kudos.recognition.models import Kudos, Recognition, kudos_value
from kudos.timeutil import Month

PAIR_CAP = 3


def month_key(month: Month) -> int:
    return month.year * 100 + month.month


def key_of(moment: datetime, zone: ZoneInfo) -> int:
    return month_key(Month.containing(moment, zone))


def count_kudos(session: Session, kudos: Kudos, delta: int, zone: ZoneInfo) -> None:
    """Add (+1) or remove (-1) one kudos's recognitions from the rollups."""
    key = key_of(kudos.created_at, zone)
    value_keys = [ALL_VALUES, *(value.id for value in kudos.values)]
    rows = [
        {
            "month": key,
            "value_id": value_id,
            "sender_id": kudos.sender_id,
            "recipient_id": recognition.recipient_id,
            "count": delta,
        }
        for recognition in kudos.recognitions
        for value_id in value_keys
    ]
    if not rows:
        return
    if delta > 0:
        _count_in(session, kudos, key, rows)
    else:
        _count_out(session, kudos, key, rows)


def _count_out(session: Session, kudos: Kudos, key: int, rows: list[dict[str, int]]) -> None:
    """Take one kudos out (deleted or hidden, both rare): the pairs go down by
    one and the scores of the people involved are recomputed from them."""
    pair = LeaderboardPair.__table__
    session.execute(
        update(pair)
        .where(
            pair.c.month == key,
            pair.c.value_id == _bind("value_id"),
            pair.c.sender_id == _bind("sender_id"),
            pair.c.recipient_id == _bind("recipient_id"),
        )
        .values(count=pair.c.count - 1)
        .execution_options(synchronize_session=False),
        [
            {
                "b_value_id": row["value_id"],
                "b_sender_id": row["sender_id"],
                "b_recipient_id": row["recipient_id"],
            }
            for row in rows
        ],
    )
    session.execute(delete(pair).where(pair.c.month == key, pair.c.count <= 0))
    people = {kudos.sender_id, *(recognition.recipient_id for recognition in kudos.recognitions)}
    refresh(session, key, people)


def _bind(name: str) -> BindParameter:
    return bindparam(f"b_{name}")


def _count_in(session: Session, kudos: Kudos, key: int, rows: list[dict[str, int]]) -> None:
    """Add one kudos in two statements, whatever the history: a pair's count
    goes up by one, so its capped share of a score goes up by one exactly
    when the new count is within the cap (and the partner is active).

    On the session's connection: inserts into the rollups keep every page
    cached (``kudos/cache.py``), so the session's own handling of a bulk
    statement has nothing to do but cost time."""
    connection = session.connection()
    dialect = connection.dialect.name
    active = {
        recognition.recipient_id: recognition.recipient.active for recognition in kudos.recognitions
    }
    gains: Counter[tuple[int, str, int]] = Counter()
    for value_id, recipient_id, count in connection.execute(_pair_upsert(dialect), rows):
        if count > PAIR_CAP:
            continue
        if active[recipient_id]:
            gains[value_id, "given", kudos.sender_id] += 1
        if kudos.sender.active:
            gains[value_id, "received", recipient_id] += 1
    if not gains:
        return
    connection.execute(
        _score_upsert(dialect),
        [
            {
                "month": key,
                "value_id": value_id,
                "board": board,
                "person_id": person_id,
                "score": gain,
            }
            # In primary-key order, so concurrent sends lock shared rows in one order.
            for (value_id, board, person_id), gain in sorted(gains.items())
        ],
    )


@functools.cache
def _pair_upsert(dialect: str) -> ReturningInsert[tuple[int, int, int]]:
    """Built once for each engine: building it cost more than running it."""
    pair = LeaderboardPair.__table__
    stmt = _insert(dialect, pair)
    return stmt.on_conflict_do_update(
        index_elements=["month", "value_id", "sender_id", "recipient_id"],
        set_={"count": pair.c.count + stmt.excluded.count},
    ).returning(pair.c.value_id, pair.c.recipient_id, pair.c.count)


@functools.cache
def _score_upsert(dialect: str) -> Insert:
    score = LeaderboardScore.__table__
    stmt = _insert(dialect, score)
    return stmt.on_conflict_do_update(
        index_elements=["month", "value_id", "board", "person_id"],
        set_={"score": score.c.score + stmt.excluded.score},
    )


def _insert(dialect: str, table: Table):  # noqa: ANN202 - the dialect's Insert
    """INSERT with the dialect's ON CONFLICT (both engines have one)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def refresh(session: Session, key: int, person_ids: Collection[int]) -> None:
    """Recompute the month's scores of these people from the pair counts,
    counting only partners who are active."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    score = LeaderboardScore.__table__
    session.execute(delete(score).where(score.c.month == key, score.c.person_id.in_(ids)))
    _insert_scores(session, [LeaderboardPair.month == key], ids)


def _insert_scores(session: Session, conditions: list, ids: list[int] | None) -> None:
    pair = LeaderboardPair
    capped = case((pair.count > PAIR_CAP, literal(PAIR_CAP)), else_=pair.count)
    for board, me, partner in (
        ("given", pair.sender_id, pair.recipient_id),
        ("received", pair.recipient_id, pair.sender_id),
    ):
        where = list(conditions)
        if ids is not None:
            where.append(me.in_(ids))
        session.execute(
            LeaderboardScore.__table__.insert().from_select(
                ["month", "value_id", "board", "person_id", "score"],
                select(
                    pair.month, pair.value_id, literal(board), me, cast(func.sum(capped), Integer)
                )
                .join(Person, and_(Person.id == partner, Person.active))
                .where(*where)
                .group_by(pair.month, pair.value_id, me)
                # In primary-key order: the index grows at its end, not all over.
                .order_by(pair.month, pair.value_id, me),
            )
        )


def people_changed(session: Session, person_ids: Iterable[int]) -> None:
    """Someone was deactivated or reactivated: the scores of everyone they
    exchanged kudos with change, in every month they did."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    pair = LeaderboardPair
    touched = session.execute(
        select(pair.month, pair.sender_id, pair.recipient_id)
        .distinct()
        .where(or_(pair.sender_id.in_(ids), pair.recipient_id.in_(ids)))
    ).all()
    by_month: dict[int, set[int]] = {}
    for key, sender_id, recipient_id in touched:
        by_month.setdefault(key, set()).update((sender_id, recipient_id))
    for key, people in by_month.items():
        refresh(session, key, people)


ROLLUP_TABLES = (LeaderboardScore.__table__, LeaderboardPair.__table__)


def rebuild(session: Session, zone: ZoneInfo, *, on_progress: OnProgress | None = None) -> int:
    """Recompute every rollup from the recognitions; returns the months done.
    ``on_progress(phase, done, total)`` hears how far it got.

    On PostgreSQL, with millions of rows, the tables are emptied at once and
    refilled without their secondary indexes (built again at the end). The
    locks this takes make a kudos sent meanwhile wait and then count in the
    new rollups, instead of being lost between the old and the new."""
    report = on_progress or silent
    cache.data_changed(session)  # TRUNCATE below bypasses the session's events
    if session.get_bind().dialect.name != "postgresql":
        for table in ROLLUP_TABLES:
            session.execute(delete(table))
        return _fill(session, zone, report)
    session.flush()
    session.execute(text("TRUNCATE leaderboard_score, leaderboard_pair"))
    with indexes_built_after(session, ROLLUP_TABLES):
        months = _fill(session, zone, report)
        report("leaderboard indexes", 0, None)
    return months


def _fill(session: Session, zone: ZoneInfo, report: OnProgress) -> int:
    first, last = session.execute(
        select(func.min(Recognition.created_at), func.max(Recognition.created_at))
    ).one()
    if first is None:
        return 0
    month, final, done = Month.containing(first, zone), Month.containing(last, zone), 0
    months = (final.year - month.year) * 12 + final.month - month.month + 1
    while month <= final:
        report("leaderboard months", done, months)
        start, end = month.bounds(zone)
        _insert_month_pairs(session, month_key(month), start, end)
        month, done = month.next(), done + 1
    report("leaderboard months", done, months)
    report("leaderboard scores", 0, None)
    _insert_scores(session, [], None)
    session.flush()
    return done


def _insert_month_pairs(session: Session, key: int, start: datetime, end: datetime) -> None:
    columns = ["month", "value_id", "sender_id", "recipient_id", "count"]
    in_month = and_(
        Recognition.created_at >= start, Recognition.created_at < end, Kudos.hidden_at.is_(None)
    )
    overall = (
        select(
            literal(key),
            literal(ALL_VALUES),
            Recognition.sender_id,
            Recognition.recipient_id,
            func.count(),
        )
        .join(Kudos, Kudos.id == Recognition.kudos_id)
        .where(in_month)
        .group_by(Recognition.sender_id, Recognition.recipient_id)
        .order_by(Recognition.sender_id, Recognition.recipient_id)
    )
    per_value = (
        select(
            literal(key),
            kudos_value.c.value_id,
            Recognition.sender_id,
            Recognition.recipient_id,
            func.count(),
        )
        .join(Kudos, Kudos.id == Recognition.kudos_id)
        .join(kudos_value, kudos_value.c.kudos_id == Recognition.kudos_id)
        .where(in_month)
        .group_by(kudos_value.c.value_id, Recognition.sender_id, Recognition.recipient_id)
        .order_by(kudos_value.c.value_id, Recognition.sender_id, Recognition.recipient_id)
    )
    table = LeaderboardPair.__table__
    session.execute(table.insert().from_select(columns, overall))
    session.execute(table.insert().from_select(columns, per_value))
