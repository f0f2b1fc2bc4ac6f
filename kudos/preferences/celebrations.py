"""Telling a recipient about new kudos, the way they like it.

On the recipient's next page view, new recognitions are shown once: a
celebration (confetti, balloons, an optional fanfare) for people who chose
"air horns and balloons", a quiet notice for everyone else. Showing them
marks them acknowledged, so each is shown exactly once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, Update, bindparam, select, update
from sqlalchemy.orm import Session, aliased

from kudos.people.models import Person, first_name_of
from kudos.reads import read_rows, write_alone
from kudos.recognition.models import Kudos, Recognition, Value, kudos_value

MAX_SHOWN = 5


@dataclass(frozen=True)
class Sender:
    id: int
    name: str
    email: str

    @property
    def first_name(self) -> str:
        return first_name_of(self.name, self.email)


@dataclass(frozen=True)
class CelebratedKudos:
    """What a celebration shows of one kudos."""

    id: int
    message: str
    sender: Sender
    value_names: tuple[str, ...]


@dataclass(frozen=True)
class Celebration:
    style: str  # "celebratory" or "low_key"
    kudos: list[CelebratedKudos]  # newest first, at most MAX_SHOWN
    count: int

    @property
    def senders(self) -> list[Sender]:
        return list({kudos.sender.id: kudos.sender for kudos in self.kudos}.values())


def take_pending(session: Session, person: Person, *, now: datetime) -> Celebration | None:
    """New kudos for ``person`` not yet shown to them, which this marks shown.

    A page with a celebration cost three times one without, and while kudos
    keep arriving recipients see one on many of their pages. So it is three
    plain statements built once, no objects loaded, and on PostgreSQL
    outside any transaction (``kudos.reads``): the acknowledgement, whole by
    itself, gives back what it acknowledged; then what to show of it."""
    acknowledged = write_alone(session, _acknowledge(), {"person_id": person.id, "now": now})
    if not acknowledged:
        return None
    ids = [kudos_id for (kudos_id,) in acknowledged]
    shown = read_rows(session, _shown(), {"ids": ids})
    names: dict[int, list[str]] = {kudos_id: [] for kudos_id, *_ in shown}
    for kudos_id, name in read_rows(session, _value_names(), {"ids": list(names)}):
        names[kudos_id].append(name)
    style = person.preference.style if person.preference is not None else "low_key"
    kudos = [
        CelebratedKudos(kudos_id, message, Sender(sender_id, name, email), tuple(names[kudos_id]))
        for kudos_id, message, sender_id, name, email in shown
    ]
    return Celebration(style, kudos, len(ids)) if kudos else None


@functools.cache
def _acknowledge() -> Update:
    """The person's recognitions not shown yet, now shown, but those of
    hidden kudos (should one be restored, it is still news)."""
    hidden = select(Kudos.id).where(Kudos.hidden_at.is_not(None))
    return (
        update(Recognition)
        .where(
            Recognition.recipient_id == bindparam("person_id"),
            Recognition.acknowledged_at.is_(None),
            Recognition.kudos_id.not_in(hidden),
        )
        .values(acknowledged_at=bindparam("now"))
        .returning(Recognition.kudos_id)
        .execution_options(synchronize_session=False)
    )


@functools.cache
def _shown() -> Select:
    """The newest of them with their senders, as many as a celebration shows
    (one hidden since is left out)."""
    sender = aliased(Person, name="sender")
    return (
        select(Kudos.id, Kudos.message, Kudos.sender_id, sender.name, sender.email)
        .join(sender, sender.id == Kudos.sender_id)
        .where(Kudos.id.in_(bindparam("ids", expanding=True)), Kudos.hidden_at.is_(None))
        .order_by(Kudos.created_at.desc(), Kudos.id.desc())
        .limit(MAX_SHOWN)
    )


@functools.cache
def _value_names() -> Select:
    return (
        select(kudos_value.c.kudos_id, Value.name)
        .join(Value, Value.id == kudos_value.c.value_id)
        .where(kudos_value.c.kudos_id.in_(bindparam("ids", expanding=True)))
        .order_by(kudos_value.c.kudos_id, Value.position, Value.id)
    )
