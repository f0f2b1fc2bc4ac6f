"""Values, kudos, the recognitions they carry, and reactions."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    exists,
    or_,
    text,
    true,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from kudos.db import Base, UTCDateTime, utcnow
from kudos.people.models import Person

VISIBILITIES = ("public", "team", "private")
# Most open first: the effective visibility is the most restrictive choice.
VISIBILITY_RANK = {name: rank for rank, name in enumerate(VISIBILITIES)}
VISIBILITY_CHECK = "{column} IN ('public', 'team', 'private')"


def new_revision() -> int:
    """A kudos card's next version (``Kudos.revision``). Random rather than a
    count: a change rolled back never comes back as the version of another
    change, and a kudos id that SQLite gives again after a deletion starts
    with a version of its own."""
    return secrets.randbits(62)


class Value(Base):
    """An internal-service value that kudos are tied to (admin-editable)."""

    __tablename__ = "value"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    emoji: Mapped[str] = mapped_column(String(16), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Value {self.slug}>"


kudos_value = Table(
    "kudos_value",
    Base.metadata,
    Column("kudos_id", ForeignKey("kudos.id", ondelete="CASCADE"), primary_key=True),
    Column("value_id", ForeignKey("value.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class Kudos(Base):
    __tablename__ = "kudos"
    __table_args__ = (
        CheckConstraint(VISIBILITY_CHECK.format(column="visibility"), name="visibility"),
        CheckConstraint(
            VISIBILITY_CHECK.format(column="requested_visibility"), name="requested_visibility"
        ),
        CheckConstraint("hidden_at IS NULL OR hidden_reason IS NOT NULL", name="hidden_reason"),
        # One kudos per (sender, key): a double-submitted form or a retried
        # API call with the same Idempotency-Key cannot create a second one.
        UniqueConstraint("sender_id", "idempotency_key"),
        # Feeds: newest first with keyset pagination on (created_at, id).
        Index("ix_kudos_created_at_id", "created_at", "id"),
        # Daily limit and "given" lists: a sender's kudos by time.
        Index("ix_kudos_sender_id_created_at", "sender_id", "created_at"),
        # The few hidden kudos, so aggregates leave them out without reading
        # the kudos table (the manager's summary: ``kudos_id NOT IN hidden``).
        Index(
            "ix_kudos_hidden",
            "id",
            postgresql_where=text("hidden_at IS NOT NULL"),
            sqlite_where=text("hidden_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    message: Mapped[str] = mapped_column(Text)
    # What the sender chose, and what applies after recipients' preferences.
    requested_visibility: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    # Changes with anything the kudos card shows but people's and values'
    # names (``recognition.card_versions``): the card cache's key.
    revision: Mapped[int] = mapped_column(BigInteger, default=new_revision, server_default="0")

    sender: Mapped[Person] = relationship(foreign_keys=[sender_id])
    hidden_by: Mapped[Person | None] = relationship(foreign_keys=[hidden_by_id])
    recognitions: Mapped[list[Recognition]] = relationship(
        back_populates="kudos",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Recognition.position",
    )
    values: Mapped[list[Value]] = relationship(secondary=kudos_value, order_by=Value.position)
    reactions: Mapped[list[Reaction]] = relationship(
        back_populates="kudos", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def recipients(self) -> list[Person]:
        return [recognition.recipient for recognition in self.recognitions]

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    def __repr__(self) -> str:
        return f"<Kudos {self.id} from {self.sender_id}>"


class Recognition(Base):
    """One recipient of one kudos: the unit that leaderboards and summaries count.

    Sender and time are copied from the kudos so that "recognitions by
    recipient (or sender) and month" are answered from one table's index.
    """

    __tablename__ = "recognition"
    __table_args__ = (
        CheckConstraint("recipient_id <> sender_id", name="not_self"),
        Index("ix_recognition_recipient_id_created_at", "recipient_id", "created_at"),
        Index("ix_recognition_sender_id_created_at", "sender_id", "created_at"),
        Index("ix_recognition_created_at", "created_at"),
        # Every page view asks "anything new to celebrate?": only the few
        # recognitions not yet shown to their recipient are in this index.
        Index(
            "ix_recognition_unacknowledged",
            "recipient_id",
            postgresql_where=text("acknowledged_at IS NULL"),
            sqlite_where=text("acknowledged_at IS NULL"),
        ),
    )

    kudos_id: Mapped[int] = mapped_column(
        ForeignKey("kudos.id", ondelete="CASCADE"), primary_key=True
    )
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), primary_key=True
    )
    sender_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Order the sender listed the recipients in, for display.
    position: Mapped[int] = mapped_column(Integer, default=0)
    # When the recipient was shown their celebration or quiet notice.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    kudos: Mapped[Kudos] = relationship(back_populates="recognitions")
    recipient: Mapped[Person] = relationship(foreign_keys=[recipient_id], lazy="joined")


class Reaction(Base):
    """One per person per kudos; reacting again removes it."""

    __tablename__ = "reaction"

    kudos_id: Mapped[int] = mapped_column(
        ForeignKey("kudos.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    kudos: Mapped[Kudos] = relationship(back_populates="reactions")
    person: Mapped[Person] = relationship()


REPORT_RESOLUTIONS = ("hidden", "dismissed")


class KudosReport(Base):
    """Someone who can see a kudos asks the moderators to look at it.

    Open until an admin hides the kudos or dismisses the reports about it."""

    __tablename__ = "kudos_report"
    __table_args__ = (
        CheckConstraint(
            "resolution IS NULL OR resolution IN ('hidden', 'dismissed')", name="resolution"
        ),
        # One open report per person per kudos; once dealt with, they may
        # report it again. Also the admins' list of open reports.
        Index(
            "ix_kudos_report_open",
            "kudos_id",
            "reporter_id",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
        # Reporters with an outcome they have not been told yet: read with
        # every signed-in page view (``cache.freshness_columns``).
        Index(
            "ix_kudos_report_untold",
            "reporter_id",
            postgresql_where=text("resolved_at IS NOT NULL AND reporter_told_at IS NULL"),
            sqlite_where=text("resolved_at IS NOT NULL AND reporter_told_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kudos_id: Mapped[int] = mapped_column(ForeignKey("kudos.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(String(16))
    # When the reporter was shown what became of their report, in-app.
    reporter_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    kudos: Mapped[Kudos] = relationship()
    reporter: Mapped[Person] = relationship(foreign_keys=[reporter_id])


class DeletedSend(Base):
    """A kudos its sender deleted (within 15 minutes), remembered for a couple
    of days: the daily limit counts the sender's kudos of the day plus these,
    so send-delete-send cannot get round it, and a send writes nothing more."""

    __tablename__ = "deleted_send"
    __table_args__ = (Index("ix_deleted_send_sender_id_sent_at", "sender_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Whether anything waits to be shown to this person: kudos received (a
# celebration or a quiet notice), or what a moderator did about a kudos they
# reported. Deferred; with each request it comes from the same statement as
# the signed-in person (``cache.freshness_columns``), read from two small
# partial indexes, so a page view without news asks nothing more.
Person.has_unseen_recognitions = column_property(
    or_(
        exists()
        .where(Recognition.recipient_id == Person.id, Recognition.acknowledged_at.is_(None))
        .correlate_except(Recognition),
        exists()
        .where(
            KudosReport.reporter_id == Person.id,
            KudosReport.resolved_at.is_not(None),
            KudosReport.reporter_told_at.is_(None),
        )
        .correlate_except(KudosReport),
    ),
    deferred=True,
)
