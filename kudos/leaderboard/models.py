"""Monthly rollups behind the leaderboards, kept in step with every change.

``leaderboard_pair`` counts one month's recognitions per sender→recipient
pair, overall (``value_id`` 0) and per value. ``leaderboard_score`` holds each
person's capped total for a month, value and board, counting only partners
who are active. Both are written in the same transaction as the send, delete,
hide, restore or (de)activation that changes them, so a board is one short
index range read. Months are the organisation's: after a change of
``KUDOS_TIMEZONE`` run ``kudos rollups rebuild``.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kudos.db import Base

ALL_VALUES = 0  # value_id of the rows that count every value


class LeaderboardPair(Base):
    __tablename__ = "leaderboard_pair"
    __table_args__ = (
        CheckConstraint("count >= 0", name="not_negative"),
        Index(
            "ix_leaderboard_pair_month_value_id_recipient_id", "month", "value_id", "recipient_id"
        ),
    )

    month: Mapped[int] = mapped_column(Integer, primary_key=True)  # YYYYMM
    value_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    count: Mapped[int] = mapped_column(Integer)


class LeaderboardScore(Base):
    __tablename__ = "leaderboard_score"
    __table_args__ = (
        CheckConstraint("board IN ('given', 'received')", name="board"),
        # The boards read this index from the top score down; with person_id in
        # it, "how many are ahead of me" is an index-only count.
        Index(
            "ix_leaderboard_score_month_value_id_board_score",
            "month",
            "value_id",
            "board",
            "score",
            "person_id",
        ),
        Index("ix_leaderboard_score_person_id_month", "person_id", "month"),
    )

    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    value_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    board: Mapped[str] = mapped_column(String(8), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[int] = mapped_column(Integer)
