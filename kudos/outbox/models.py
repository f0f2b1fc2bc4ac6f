"""Outgoing e-mail, recorded in the request and delivered later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kudos.db import Base, UTCDateTime, utcnow

STATUSES = ("pending", "sent", "failed")
TRANSPORTS = ("email", "slack")


class OutboxMessage(Base):
    """One e-mail or Slack message. Web requests only insert rows; ``kudos
    outbox deliver`` sends them, retrying with backoff. ``dedupe_key`` (for
    example ``summary:2026-10:42``) makes a repeated command queue nothing
    twice. A Slack message is an intent in ``payload`` (``kudos/slack/
    outbox.py``), made into blocks when it is delivered, so it shows the
    kudos as it is then; ``to_address`` and ``subject`` describe it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        CheckConstraint("transport IN ('email', 'slack')", name="transport"),
        Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    transport: Mapped[str] = mapped_column(String(8), default="email", server_default="email")
    payload: Mapped[dict[str, object] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
