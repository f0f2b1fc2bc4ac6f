"""How each person likes to be recognised (captured at onboarding)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kudos.db import Base, UTCDateTime, utcnow
from kudos.people.models import Person
from kudos.recognition.models import VISIBILITY_CHECK, Value

STYLES = ("low_key", "celebratory")
MAX_FAVOURITE_VALUES = 3
BEST_WAY_MAX_LENGTH = 280


class RecognitionPreference(Base):
    __tablename__ = "recognition_preference"
    __table_args__ = (
        CheckConstraint(VISIBILITY_CHECK.format(column="audience"), name="audience"),
        CheckConstraint("style IN ('low_key', 'celebratory')", name="style"),
        # The people who opted out of leaderboards, without a full scan.
        Index(
            "ix_recognition_preference_person_id_opted_out",
            "person_id",
            postgresql_where=text("NOT on_leaderboards"),
            sqlite_where=text("NOT on_leaderboards"),
        ),
    )

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    # Who may see praise for this person: public | team | private.
    audience: Mapped[str] = mapped_column(String(16), default="public")
    style: Mapped[str] = mapped_column(String(16), default="low_key")
    email_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A Slack direct message for each kudos (when Slack is connected).
    slack_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Named in the channel post of a public kudos; if not, told by direct message.
    in_slack_channel: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    on_leaderboards: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    best_way_to_thank: Mapped[str | None] = mapped_column(String(BEST_WAY_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship(back_populates="preference")
    favourites: Mapped[list[FavouriteValue]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="FavouriteValue.position"
    )

    @property
    def favourite_values(self) -> list[Value]:
        return [favourite.value for favourite in self.favourites]


class FavouriteValue(Base):
    """One of the (up to three) values a person most likes to be recognised for."""

    __tablename__ = "favourite_value"
    __table_args__ = (
        CheckConstraint(f"position BETWEEN 1 AND {MAX_FAVOURITE_VALUES}", name="position"),
    )

    person_id: Mapped[int] = mapped_column(
        ForeignKey("recognition_preference.person_id", ondelete="CASCADE"), primary_key=True
    )
    value_id: Mapped[int] = mapped_column(
        ForeignKey("value.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)

    value: Mapped[Value] = relationship(lazy="joined")
