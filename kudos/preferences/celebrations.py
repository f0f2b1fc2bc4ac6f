"""Telling a recipient about new kudos, the way they like it.

On the recipient's next page view, new recognitions are shown once: a
celebration (confetti, balloons, an optional fanfare) for people who chose
"air horns and balloons", a quiet notice for everyone else. Showing them
marks them acknowledged, so each is shown exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from kudos.people.models import Person
from kudos.recognition.models import Kudos, Recognition

MAX_SHOWN = 5


@dataclass(frozen=True)
class Celebration:
    style: str  # "celebratory" or "low_key"
    kudos: list[Kudos]  # newest first, at most MAX_SHOWN
    count: int

    @property
    def senders(self) -> list[Person]:
        return list({kudos.sender_id: kudos.sender for kudos in self.kudos}.values())


def take_pending(session: Session, person: Person, *, now: datetime) -> Celebration | None:
    """New kudos for ``person`` not yet shown to them; marks them shown. Flushes."""
    pending = session.scalars(
        select(Recognition)
        .join(Kudos, Kudos.id == Recognition.kudos_id)
        .where(
            Recognition.recipient_id == person.id,
            Recognition.acknowledged_at.is_(None),
            Kudos.hidden_at.is_(None),
        )
        .options(
            joinedload(Recognition.kudos).joinedload(Kudos.sender),
        )
        .order_by(Recognition.created_at.desc())
    ).all()
    if not pending:
        return None
    session.execute(
        update(Recognition)
        .where(Recognition.recipient_id == person.id, Recognition.acknowledged_at.is_(None))
        .values(acknowledged_at=now)
    )
    session.flush()
    style = person.preference.style if person.preference is not None else "low_key"
    return Celebration(style, [r.kudos for r in pending[:MAX_SHOWN]], len(pending))
