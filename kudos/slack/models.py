"""Who is who in Slack, and what the app posted there."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kudos.db import Base, UTCDateTime, utcnow

POST_KINDS = ("channel", "team_channel", "direct")


class SlackLink(Base):
    """A Slack user known to be a Kudos person: their Slack profile's
    confirmed e-mail is the person's. Checked again once a day, so a
    changed address does not keep the link."""

    __tablename__ = "slack_link"

    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlackPost(Base):
    """A message the app posted about a kudos: found again to update its
    applause count, or to delete it when the kudos is hidden, deleted or
    becomes more private than where it was posted."""

    __tablename__ = "slack_post"
    __table_args__ = (
        CheckConstraint("kind IN ('channel', 'team_channel', 'direct')", name="kind"),
        UniqueConstraint("channel", "ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kudos_id: Mapped[int] = mapped_column(ForeignKey("kudos.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
