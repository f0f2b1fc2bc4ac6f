"""Factories: make people, teams and kudos in one line, with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kudos.db import utcnow
from kudos.leaderboard.models import LeaderboardPair, LeaderboardScore
from kudos.outbox.models import OutboxMessage
from kudos.outbox.services import queue_email
from kudos.people.models import Department, Person, Team
from kudos.recognition.models import Kudos, Value
from kudos.recognition.services import send_kudos
from kudos.text import slugify

_numbers = itertools.count(1)


class Factory:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _save(self, obj):  # noqa: ANN001, ANN202
        self.session.add(obj)
        self.session.commit()
        return obj

    def department(self, name: str | None = None) -> Department:
        name = name or f"Department {next(_numbers)}"
        return self._save(Department(name=name, slug=slugify(name)))

    def team(self, name: str | None = None) -> Team:
        name = name or f"Team {next(_numbers)}"
        return self._save(Team(name=name, slug=slugify(name)))

    def person(
        self,
        name: str | None = None,
        email: str | None = None,
        *,
        new: bool = False,
        **fields: object,
    ) -> Person:
        """A person who has seen onboarding (chose "later"), unless ``new``."""
        number = next(_numbers)
        name = name or f"Person {number}"
        email = email or f"person{number}@acme.example.com"
        if not new:
            fields.setdefault("onboarding_postponed_at", utcnow())
        return self._save(Person(name=name, email=email.lower(), **fields))

    def value(self, slug: str = "responsive") -> Value:
        return self.session.scalars(select(Value).where(Value.slug == slug)).one()

    def kudos(
        self,
        sender: Person,
        recipients: list[Person],
        *,
        message: str = "Thanks for the quick help!",
        values: list[str] | None = None,
        visibility: str = "public",
        at: datetime | None = None,
    ) -> Kudos:
        kudos = send_kudos(
            self.session,
            sender,
            [person.id for person in recipients],
            [self.value(slug).id for slug in values or ["responsive"]],
            message,
            visibility,
            now=at or utcnow(),
            zone=ZoneInfo("UTC"),
            daily_limit=10_000,
        ).kudos
        self.session.commit()
        return kudos

    def queued_email(
        self, *, at: datetime | None = None, attempts: int = 0, status: str = "pending"
    ) -> OutboxMessage:
        """An e-mail in the outbox, queued ``at`` (now), tried ``attempts``
        times, in ``status``."""
        message = queue_email(
            self.session,
            kind="kudos",
            to_address=self.person().email,
            subject="Thanks",
            text_body="…",
            html_body=None,
            now=at or utcnow(),
        )
        message.attempts, message.status = attempts, status
        return self._save(message)


def rollup_rows(session: Session) -> tuple[set, set]:
    """Every row of both leaderboard rollup tables, to compare the rollups
    kept up to date by each change with a rebuild."""
    pairs = set(
        session.execute(
            select(
                LeaderboardPair.month,
                LeaderboardPair.value_id,
                LeaderboardPair.sender_id,
                LeaderboardPair.recipient_id,
                LeaderboardPair.count,
            )
        ).all()
    )
    scores = set(
        session.execute(
            select(
                LeaderboardScore.month,
                LeaderboardScore.value_id,
                LeaderboardScore.board,
                LeaderboardScore.person_id,
                LeaderboardScore.score,
            )
        ).all()
    )
    return pairs, scores
