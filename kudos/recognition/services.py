"""Sending, deleting, hiding and reacting: the one place for the rules.

The compose page, the API and the demo loader all call ``send_kudos``.
Services flush and never commit; the caller owns the transaction.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased, contains_eager, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import ReturningInsert

from kudos import cache, notifications, timeutil
from kudos.audit.services import record
from kudos.db import valid_ids
from kudos.leaderboard import rollups
from kudos.people.models import Person
from kudos.preferences.models import RecognitionPreference
from kudos.reads import detached, loading_session
from kudos.recognition import events
from kudos.recognition.models import (
    VISIBILITIES,
    VISIBILITY_RANK,
    DeletedSend,
    Kudos,
    KudosReport,
    Reaction,
    Recognition,
    Value,
    kudos_value,
    new_revision,
)

MAX_RECIPIENTS = 10
MAX_MESSAGE_LENGTH = 1000
MAX_VALUES = 3
MAX_HIDE_REASON_LENGTH = 500
IDEMPOTENCY_KEY_MAX_LENGTH = 128
VISIBILITY_CHOICE = "Choose who can see this kudos: public, team or private."
DELETE_WINDOW = timedelta(minutes=15)
# Sends are remembered this long for the daily limit: longer than any
# organisation's day, even one lengthened by a clock change.
SENDS_KEPT = timedelta(days=2)
# Control characters other than line breaks and tabs have no place in a message.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class KudosRejected(Exception):
    """A rule was broken. ``fields`` maps field names to messages for people;
    ``status`` is the HTTP status the API answers with."""

    code = "invalid"
    # Seconds until trying again may succeed (a 429's Retry-After), if known.
    retry_after: int | None = None

    def __init__(self, fields: dict[str, str], *, status: int = 422) -> None:
        self.fields = fields
        self.status = status
        super().__init__("; ".join(f"{name}: {text}" for name, text in fields.items()))

    @property
    def message(self) -> str:
        return next(iter(self.fields.values()))


class DailyLimitReached(KudosRejected):
    code = "daily_limit"

    def __init__(self, limit: int, *, retry_after: int | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(
            {
                "__all__": f"You have sent {limit} kudos today, the daily limit. Thank you "
                "for being generous! You can send more tomorrow."
            },
            status=429,
        )


class IdempotencyConflict(KudosRejected):
    code = "idempotency_conflict"

    def __init__(self) -> None:
        super().__init__(
            {
                "__all__": "This Idempotency-Key was already used for a different kudos. "
                "Use a new key for a new kudos."
            },
            status=409,
        )


@dataclass(frozen=True)
class CheckedKudos:
    recipients: list[Person]
    audiences: list[str]  # each recipient's, in the same order
    values: list[Value]
    message: str  # cleaned


@dataclass(frozen=True)
class SendResult:
    kudos: Kudos
    created: bool  # False when an earlier request with the same key made it


def clean_message(message: str) -> str:
    return message.replace("\r\n", "\n").replace("\r", "\n").strip()


def preferred_audience(person: Person) -> str:
    """The audience a recipient chose at onboarding; ``public`` until they do."""
    return person.preference.audience if person.preference is not None else "public"


def most_restrictive(choices: Sequence[str]) -> str:
    return max(choices, key=lambda choice: VISIBILITY_RANK.get(choice, 0))


def effective_visibility(requested: str, recipients: Sequence[Person]) -> str:
    """The most restrictive of the sender's choice and each recipient's audience."""
    return most_restrictive([requested, *(preferred_audience(person) for person in recipients)])


def _recipients_with_audiences(
    session: Session, ids: Sequence[int]
) -> dict[int, tuple[Person, str]]:
    """The people with these ids, with their preferences, and the audience
    each chose as committed now: share-locked until the new kudos commits
    (PostgreSQL), so a recipient narrowing at the same moment either commits
    first and is read here, or waits and then reaches this kudos through
    ``refresh_visibility``. The audience comes from the locking subquery,
    which reads the row as it is once the lock is held; the joined
    preference is the statement's snapshot, for the e-mail choice."""
    rows = session.execute(_recipients_query(), {"ids": valid_ids(list(ids))})
    return {person.id: (person, chosen or "public") for person, chosen in rows}


@functools.cache
def _recipients_query() -> Select[tuple[Person, str | None]]:
    """Built once, as the send's other statements: every send runs them,
    and building one cost about as much as running it."""
    locked = aliased(RecognitionPreference, name="locked")
    audience = (
        select(locked.audience)
        .where(locked.person_id == Person.id)
        .with_for_update(read=True)
        .scalar_subquery()
    )
    return (
        select(Person, audience)
        .outerjoin(Person.preference)
        .options(contains_eager(Person.preference))
        .where(Person.id.in_(bindparam("ids", expanding=True)))
    )


def _any_recipient_wants(audience: str) -> ColumnElement[bool]:
    """Whether a recipient of the kudos being updated now chooses ``audience``
    (people without preferences are ``public``, so they never match)."""
    return exists().where(
        Recognition.kudos_id == Kudos.id,
        RecognitionPreference.person_id == Recognition.recipient_id,
        RecognitionPreference.audience == audience,
    )


def _effective_visibility_sql() -> ColumnElement[str]:
    """``effective_visibility`` in SQL, over each recipient's current audience."""
    return case(
        (
            or_(Kudos.requested_visibility == "private", _any_recipient_wants("private")),
            "private",
        ),
        (or_(Kudos.requested_visibility == "team", _any_recipient_wants("team")), "team"),
        else_="public",
    )


def refresh_visibility(session: Session, recipient_id: int) -> None:
    """Apply recipients' current audiences to kudos already sent: privacy wins
    for past kudos too, and widening never opens a kudos beyond what its
    sender asked for or its other recipients allow.

    ``Kudos.visibility`` is a stored copy of that rule, so feeds filter on one
    column. One UPDATE through the session (which retires cached pages) for
    every kudos ``recipient_id`` received."""
    received = Kudos.id.in_(
        select(Recognition.kudos_id).where(Recognition.recipient_id == recipient_id)
    )
    # Lock the rows first (PostgreSQL), in one order: when two recipients of
    # one kudos change at once, the second waits, and its UPDATE (a new
    # snapshot) then reads the first one's audience. An UPDATE alone would
    # re-check a row changed meanwhile against its older snapshot.
    session.execute(select(Kudos.id).where(received).order_by(Kudos.id).with_for_update())
    effective = _effective_visibility_sql()
    session.execute(
        update(Kudos)
        .where(received, Kudos.visibility != effective)
        # A new revision: the card's badge changes (``card_versions``).
        .values(visibility=effective, revision=new_revision()),
        execution_options={"synchronize_session": "fetch"},
    )
    events.audience_changed.announce(session, recipient_id)


def _unique(ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(ids))


def known_values(session: Session) -> dict[int, Value]:
    """Every value, active or retired, by id: read once and kept until one
    changes (``kudos/cache.py``), not for each send. Detached: merge the
    ones used into the session (``session.merge(value, load=False)``)."""

    def read() -> dict[int, Value]:
        with loading_session(session) as loader:
            return {value.id: value for value in loader.scalars(select(Value))}

    return cache.cached(session, ("values",), read)


def check_kudos(
    session: Session,
    sender: Person,
    recipient_ids: Sequence[int],
    value_ids: Sequence[int],
    message: str,
    visibility: str,
) -> CheckedKudos:
    """Check every rule about the content; return the recipients (with the
    audiences they chose), values and cleaned message, or raise
    ``KudosRejected`` with every problem found."""
    problems: dict[str, str] = {}
    wanted = _unique(recipient_ids)
    people = _recipients_with_audiences(session, wanted)
    recipients = [people[person_id][0] for person_id in wanted if person_id in people]
    if not wanted:
        problems["recipients"] = "Choose at least one person to thank."
    elif len(recipients) < len(wanted):
        problems["recipients"] = "Some of the people chosen are not in the directory."
    elif sender.id in people:
        problems["recipients"] = "You can't send kudos to yourself, but it's a nice thought."
    elif len(wanted) > MAX_RECIPIENTS:
        problems["recipients"] = f"Choose at most {MAX_RECIPIENTS} people."
    elif inactive := [person.name for person in recipients if not person.active]:
        problems["recipients"] = f"{', '.join(inactive)} no longer works here."

    text = clean_message(message)
    if not text:
        problems["message"] = "Write a few words about what they did."
    elif len(text) > MAX_MESSAGE_LENGTH:
        problems["message"] = f"Keep it to {MAX_MESSAGE_LENGTH} characters (now {len(text)})."
    elif CONTROL_CHARACTERS.search(text):
        problems["message"] = "The message contains invisible control characters."

    wanted_values = _unique(value_ids)
    found = known_values(session)
    values = [
        session.merge(found[value_id], load=False)
        for value_id in wanted_values
        if value_id in found
    ]
    if not wanted_values:
        problems["values"] = "Choose the value they showed."
    elif len(wanted_values) > MAX_VALUES:
        problems["values"] = f"Choose at most {MAX_VALUES} values."
    elif len(values) < len(wanted_values):
        problems["values"] = "One of the chosen values does not exist."
    elif any(not value.active for value in values):
        problems["values"] = "One of the chosen values is no longer in use."

    if visibility not in VISIBILITIES:
        problems["visibility"] = VISIBILITY_CHOICE

    if problems:
        raise KudosRejected(problems)
    audiences = [people[person.id][1] for person in recipients]
    return CheckedKudos(recipients, audiences, values, text)


def _announcing_refusals(send: Callable[..., SendResult]) -> Callable[..., SendResult]:
    """Tell the listeners (the metrics) which rules a refused send broke."""

    @functools.wraps(send)
    def sending(*args: Any, **kwargs: Any) -> SendResult:  # noqa: ANN401
        try:
            return send(*args, **kwargs)
        except KudosRejected as rejected:
            rules = [name for name in rejected.fields if name != "__all__"]
            events.kudos_refused.announce(rules if rejected.code == "invalid" else [rejected.code])
            raise

    return sending


@_announcing_refusals
def send_kudos(
    session: Session,
    sender: Person,
    recipient_ids: Sequence[int],
    value_ids: Sequence[int],
    message: str,
    visibility: str,
    *,
    now: datetime,
    zone: ZoneInfo,
    daily_limit: int,
    idempotency_key: str | None = None,
) -> SendResult:
    """Validate every rule, then record the kudos, one recognition per
    recipient, and what each recipient should be told.

    The sender's row is locked first (PostgreSQL), so two requests from one
    sender run one after the other: the daily limit and the idempotency key
    hold even when they arrive at the same moment. Both are then read in one
    query, which begins after the lock is held and so sees the sends it
    waited for.
    """
    checked = check_kudos(session, sender, recipient_ids, value_ids, message, visibility)
    recipients, values, text = checked.recipients, checked.values, checked.message
    if idempotency_key is not None and not 0 < len(idempotency_key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        raise KudosRejected(
            {"idempotency_key": f"Use a key of 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters."},
            status=400,
        )
    # FOR NO KEY UPDATE: it serialises this sender's sends, yet lets other
    # transactions check foreign keys to this person (FOR KEY SHARE). With a
    # plain FOR UPDATE two people thanking each other at once deadlocked.
    session.execute(_sender_lock(), {"sender_id": sender.id})

    day_start, day_end = timeutil.day_bounds(now, zone)
    earlier_id, sent_today = session.execute(
        _earlier_and_sent_today(with_key=idempotency_key is not None),
        {"sender_id": sender.id, "key": idempotency_key, "start": day_start, "end": day_end},
    ).one()
    if earlier_id is not None:
        earlier = session.scalars(
            select(Kudos)
            .where(Kudos.id == earlier_id)
            .options(selectinload(Kudos.recognitions), selectinload(Kudos.values))
        ).one()
        same = (
            {r.recipient_id for r in earlier.recognitions} == {p.id for p in recipients}
            and {v.id for v in earlier.values} == {v.id for v in values}
            and earlier.message == text
            and earlier.requested_visibility == visibility
        )
        if not same:
            raise IdempotencyConflict()
        return SendResult(earlier, created=False)
    if sent_today >= daily_limit:
        tomorrow = timeutil.day_bounds(now, zone)[1]
        raise DailyLimitReached(
            daily_limit, retry_after=math.ceil((tomorrow - now).total_seconds())
        )

    kudos = _insert_kudos(
        session,
        sender,
        recipients,
        values,
        {
            "sender_id": sender.id,
            "message": text,
            "requested_visibility": visibility,
            "visibility": most_restrictive([visibility, *checked.audiences]),
            "created_at": now,
            "idempotency_key": idempotency_key or None,
            "revision": new_revision(),
        },
    )
    rollups.count_kudos(session, kudos, +1, zone)
    notifications.kudos_sent(session, kudos)
    events.kudos_sent.announce(session, kudos)
    return SendResult(kudos, created=True)


def _insert_kudos(
    session: Session,
    sender: Person,
    recipients: list[Person],
    values: list[Value],
    columns: dict[str, object],
) -> Kudos:
    """Insert a kudos, its values and one recognition per recipient in
    three statements, and give it back as loaded, in the session, with
    everything a card, an e-mail and the API's answer show: the session's
    unit of work took longer than the rest of the send together. Through
    the session, so the page cache sees a new kudos (``kudos/cache.py``)."""
    kudos_id = session.execute(_kudos_insert(), columns).scalar_one()
    session.execute(
        insert(kudos_value), [{"kudos_id": kudos_id, "value_id": value.id} for value in values]
    )
    recognitions = [
        {
            "kudos_id": kudos_id,
            "recipient_id": person.id,
            "sender_id": sender.id,
            "created_at": columns["created_at"],
            "position": index,
            "acknowledged_at": None,
        }
        for index, person in enumerate(recipients)
    ]
    session.execute(insert(Recognition.__table__), recognitions)

    kudos = detached(
        Kudos,
        {**columns, "id": kudos_id, "hidden_at": None, "hidden_by_id": None, "hidden_reason": None},
    )
    set_committed_value(kudos, "sender", sender)
    set_committed_value(kudos, "values", values)
    set_committed_value(kudos, "reactions", [])  # none yet
    loaded = []
    for row, person in zip(recognitions, recipients, strict=True):
        recognition = detached(Recognition, row)
        set_committed_value(recognition, "recipient", person)
        set_committed_value(recognition, "kudos", kudos)
        loaded.append(recognition)
    set_committed_value(kudos, "recognitions", loaded)
    session.add(kudos)  # in the session as it is in the database: nothing to flush
    return kudos


@functools.cache
def _kudos_insert() -> ReturningInsert[tuple[int]]:
    return insert(Kudos.__table__).returning(Kudos.__table__.c.id)


@functools.cache
def _sender_lock() -> Select[tuple[int]]:
    return (
        select(Person.id).where(Person.id == bindparam("sender_id")).with_for_update(key_share=True)
    )


@functools.cache
def _earlier_and_sent_today(*, with_key: bool) -> Select[tuple[int | None, int]]:
    """The id of the sender's kudos made with this Idempotency-Key, if any,
    and how many kudos they sent on the organisation's day from ``start``
    to ``end``: those still there and those deleted since, so the limit
    counts sends."""
    sender = bindparam("sender_id")
    start, end = bindparam("start"), bindparam("end")
    earlier = (
        select(Kudos.id)
        .where(Kudos.sender_id == sender, Kudos.idempotency_key == bindparam("key"))
        .scalar_subquery()
        if with_key
        else null()
    )
    kept = (
        select(func.count())
        .where(Kudos.sender_id == sender, Kudos.created_at >= start, Kudos.created_at < end)
        .scalar_subquery()
    )
    deleted = (
        select(func.count())
        .where(
            DeletedSend.sender_id == sender,
            DeletedSend.sent_at >= start,
            DeletedSend.sent_at < end,
        )
        .scalar_subquery()
    )
    return select(earlier, kept + deleted)


def sent_today(session: Session, sender: Person, *, now: datetime, zone: ZoneInfo) -> int:
    """How many kudos ``sender`` sent on the organisation's day of ``now``, as
    the daily limit counts them (kudos taken back since count too)."""
    day_start, day_end = timeutil.day_bounds(now, zone)
    _, count = session.execute(
        _earlier_and_sent_today(with_key=False),
        {"sender_id": sender.id, "key": None, "start": day_start, "end": day_end},
    ).one()
    return int(count)


def _remember_deleted_send(session: Session, kudos: Kudos) -> None:
    """The deleted kudos still counts for its day; sends older than any day
    are forgotten (the sender's own rows only)."""
    session.execute(
        delete(DeletedSend).where(
            DeletedSend.sender_id == kudos.sender_id,
            DeletedSend.sent_at < kudos.created_at - SENDS_KEPT,
        )
    )
    session.add(DeletedSend(sender_id=kudos.sender_id, sent_at=kudos.created_at))


def can_delete(person: Person, kudos: Kudos, now: datetime) -> bool:
    return kudos.sender_id == person.id and now - kudos.created_at <= DELETE_WINDOW


def delete_kudos(
    session: Session, person: Person, kudos: Kudos, *, now: datetime, zone: ZoneInfo
) -> None:
    """The sender takes back their own kudos within 15 minutes."""
    if kudos.sender_id != person.id:
        raise KudosRejected({"__all__": "Only the sender can delete a kudos."}, status=403)
    if not can_delete(person, kudos, now):
        raise KudosRejected(
            {
                "__all__": "Kudos can only be deleted in the first 15 minutes. Ask an admin to "
                "hide it if it needs to go."
            },
            status=409,
        )
    notifications.kudos_withdrawn(session, kudos)
    record(
        session,
        person,
        "kudos.deleted",
        target_type="kudos",
        target_id=kudos.id,
        details={
            "message": kudos.message,
            "recipients": [r.recipient_id for r in kudos.recognitions],
            **_withdrawn(session, kudos),
        },
    )
    if kudos.hidden_at is None:
        rollups.count_kudos(session, kudos, -1, zone)
    _remember_deleted_send(session, kudos)
    session.delete(kudos)
    session.flush()


def hide_kudos(
    session: Session,
    admin: Person,
    kudos: Kudos,
    reason: str,
    *,
    now: datetime,
    zone: ZoneInfo,
) -> None:
    """Moderation: hidden kudos leave every feed, board and summary, but stay
    stored; the open reports about it are resolved. Admins may hide any kudos,
    also one they may not read (see ``recognition.reports``)."""
    reason = reason.strip()
    if not reason:
        raise KudosRejected({"reason": "Say why it is hidden; the sender may ask."})
    if len(reason) > MAX_HIDE_REASON_LENGTH:
        raise KudosRejected(
            {"reason": f"Keep the reason under {MAX_HIDE_REASON_LENGTH} characters."}
        )
    if kudos.hidden_at is None:
        rollups.count_kudos(session, kudos, -1, zone)
    kudos.hidden_at, kudos.hidden_by_id, kudos.hidden_reason = now, admin.id, reason
    notifications.kudos_withdrawn(session, kudos)
    resolve_reports(session, admin, kudos, "hidden", now=now)
    record(
        session,
        admin,
        "kudos.hidden",
        target_type="kudos",
        target_id=kudos.id,
        details={"reason": reason, **_withdrawn(session, kudos)},
    )
    session.flush()


def _withdrawn(session: Session, kudos: Kudos) -> dict[str, object]:
    """Announce that ``kudos`` is withdrawn; what the listeners did (the
    Slack posts they delete), for the audit entry."""
    details: dict[str, object] = {}
    for found in events.kudos_withdrawn.announce(session, kudos):
        details.update(found)
    return details


def resolve_reports(
    session: Session, admin: Person, kudos: Kudos, resolution: str, *, now: datetime
) -> int:
    """Close the open reports about ``kudos``; returns how many there were."""
    result = session.execute(
        update(KudosReport)
        .where(KudosReport.kudos_id == kudos.id, KudosReport.resolved_at.is_(None))
        .values(resolved_at=now, resolved_by_id=admin.id, resolution=resolution),
        execution_options={"synchronize_session": "fetch"},
    )
    return result.rowcount


def restore_kudos(session: Session, admin: Person, kudos: Kudos, *, zone: ZoneInfo) -> None:
    record(
        session,
        admin,
        "kudos.restored",
        target_type="kudos",
        target_id=kudos.id,
        details={"reason": kudos.hidden_reason},
    )
    if kudos.hidden_at is not None:
        rollups.count_kudos(session, kudos, +1, zone)
    kudos.hidden_at, kudos.hidden_by_id, kudos.hidden_reason = None, None, None
    session.flush()


def own_part(person: Person, kudos: Kudos) -> str | None:
    """``sent`` or ``received`` when ``person`` sent or received ``kudos``."""
    if kudos.sender_id == person.id:
        return "sent"
    if any(recognition.recipient_id == person.id for recognition in kudos.recognitions):
        return "received"
    return None


# Why the sender and the recipients may not applaud (applause is for onlookers).
CANNOT_APPLAUD = {
    "sent": "You can't applaud kudos you sent.",
    "received": "You can't applaud kudos you received.",
}


def toggle_reaction(session: Session, person: Person, kudos: Kudos, *, now: datetime) -> bool:
    """React, or take the reaction back. Returns whether the person now reacts.
    The sender and the recipients cannot applaud (``KudosRejected``, 403); a
    reaction they made before this rule can still be taken back."""
    existing = session.get(Reaction, (kudos.id, person.id))
    if existing is not None:
        session.delete(existing)
        session.flush()
        events.applause_changed.announce(session, kudos)
        return False
    if (part := own_part(person, kudos)) is not None:
        raise KudosRejected({"__all__": CANNOT_APPLAUD[part]}, status=403)
    session.add(Reaction(kudos_id=kudos.id, person_id=person.id, created_at=now))
    session.flush()
    events.applause_changed.announce(session, kudos)
    return True
