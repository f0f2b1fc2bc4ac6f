"""``deleted_send`` replaces ``kudos_send``: the daily limit counts the
sender's kudos of the day plus the ones they deleted, so a send writes no
extra row.

The sends in ``kudos_send`` that no longer have their kudos are the deleted
ones; they carry over, so the limit holds across the upgrade.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _create(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["person.id"],
            name=op.f(f"fk_{name}_sender_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index(f"ix_{name}_sender_id_sent_at", name, ["sender_id", "sent_at"], unique=False)


def _drop(name: str) -> None:
    op.drop_index(f"ix_{name}_sender_id_sent_at", table_name=name)
    op.drop_table(name)


def upgrade() -> None:
    _create("deleted_send")
    op.execute(
        "INSERT INTO deleted_send (sender_id, sent_at) "
        "SELECT sender_id, sent_at FROM kudos_send WHERE NOT EXISTS ("
        "SELECT 1 FROM kudos WHERE kudos.sender_id = kudos_send.sender_id "
        "AND kudos.created_at = kudos_send.sent_at)"
    )
    _drop("kudos_send")


def downgrade() -> None:
    _create("kudos_send")
    cutoff = datetime.now(UTC) - timedelta(days=2)
    # SQLite keeps naive UTC (as kudos.db.UTCDateTime writes it); PostgreSQL keeps the zone.
    if op.get_bind().dialect.name == "sqlite":
        cutoff = cutoff.replace(tzinfo=None)
    op.execute(
        sa.text(
            "INSERT INTO kudos_send (sender_id, sent_at) "
            "SELECT sender_id, sent_at FROM deleted_send UNION ALL "
            "SELECT sender_id, created_at FROM kudos WHERE created_at >= :cutoff"
        ).bindparams(sa.bindparam("cutoff", cutoff, type_=sa.DateTime(timezone=True)))
    )
    _drop("deleted_send")
