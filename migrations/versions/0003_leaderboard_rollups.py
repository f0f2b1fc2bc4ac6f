"""Leaderboard rollups: monthly pair counts and scores, filled from the kudos.

The backfill counts months in ``KUDOS_TIMEZONE`` (UTC when unset), like the
application. It is written out here rather than imported from the
application so that this migration keeps working as the code changes.
``kudos rollups rebuild`` does the same from the current code.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leaderboard_pair",
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("value_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count >= 0", name=op.f("ck_leaderboard_pair_not_negative")),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["person.id"],
            name=op.f("fk_leaderboard_pair_recipient_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["person.id"],
            name=op.f("fk_leaderboard_pair_sender_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "month", "value_id", "sender_id", "recipient_id", name=op.f("pk_leaderboard_pair")
        ),
    )
    op.create_index(
        "ix_leaderboard_pair_month_value_id_recipient_id",
        "leaderboard_pair",
        ["month", "value_id", "recipient_id"],
    )
    op.create_table(
        "leaderboard_score",
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("value_id", sa.Integer(), nullable=False),
        sa.Column("board", sa.String(length=8), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "board IN ('given', 'received')", name=op.f("ck_leaderboard_score_board")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_leaderboard_score_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "month", "value_id", "board", "person_id", name=op.f("pk_leaderboard_score")
        ),
    )
    op.create_index(
        "ix_leaderboard_score_month_value_id_board_score",
        "leaderboard_score",
        ["month", "value_id", "board", "score", "person_id"],
    )
    op.create_index(
        "ix_leaderboard_score_person_id_month", "leaderboard_score", ["person_id", "month"]
    )
    backfill()


def downgrade() -> None:
    op.drop_table("leaderboard_score")
    op.drop_table("leaderboard_pair")


def _local_midnight(day: date, zone: ZoneInfo, naive: bool) -> datetime:
    moment = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    return moment.replace(tzinfo=None) if naive else moment


def backfill() -> None:
    bind = op.get_bind()
    naive = bind.dialect.name == "sqlite"  # SQLite keeps naive UTC
    zone = ZoneInfo(os.environ.get("KUDOS_TIMEZONE", "").strip() or "UTC")
    first, last = bind.execute(
        sa.text("SELECT min(created_at), max(created_at) FROM recognition")
    ).one()
    if first is None:
        return
    if isinstance(first, str):
        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
    if first.tzinfo is None:
        first, last = first.replace(tzinfo=UTC), last.replace(tzinfo=UTC)
    year, month = first.astimezone(zone).year, first.astimezone(zone).month
    end_key = last.astimezone(zone).year * 100 + last.astimezone(zone).month
    pairs = (
        "INSERT INTO leaderboard_pair (month, value_id, sender_id, recipient_id, count) "
        "SELECT :key, {value}, r.sender_id, r.recipient_id, count(*) FROM recognition r "
        "JOIN kudos k ON k.id = r.kudos_id {join} "
        "WHERE k.hidden_at IS NULL AND r.created_at >= :start AND r.created_at < :end "
        "GROUP BY {group}r.sender_id, r.recipient_id"
    )
    while year * 100 + month <= end_key:
        following = (year + month // 12, month % 12 + 1)
        params = {
            "key": year * 100 + month,
            "start": _local_midnight(date(year, month, 1), zone, naive),
            "end": _local_midnight(date(*following, 1), zone, naive),
        }
        bind.execute(sa.text(pairs.format(value="0", join="", group="")), params)
        bind.execute(
            sa.text(
                pairs.format(
                    value="kv.value_id",
                    join="JOIN kudos_value kv ON kv.kudos_id = r.kudos_id",
                    group="kv.value_id, ",
                )
            ),
            params,
        )
        year, month = following
    for board, me, partner in (
        ("given", "sender_id", "recipient_id"),
        ("received", "recipient_id", "sender_id"),
    ):
        bind.execute(
            sa.text(
                "INSERT INTO leaderboard_score (month, value_id, board, person_id, score) "  # noqa: S608
                f"SELECT p.month, p.value_id, '{board}', p.{me}, "
                "sum(CASE WHEN p.count > 3 THEN 3 ELSE p.count END) FROM leaderboard_pair p "
                f"JOIN person partner ON partner.id = p.{partner} AND partner.active "
                f"GROUP BY p.month, p.value_id, p.{me}"
            )
        )
