"""``kudos_send``: the sends the daily limit counts, kept for two days.

Counting rows of ``kudos`` let a sender delete a kudos (within 15 minutes)
and send again. The table starts with the last two days of kudos, so the
limit holds across the upgrade for kudos still there.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kudos_send",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["person.id"],
            name=op.f("fk_kudos_send_sender_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kudos_send")),
    )
    op.create_index(
        "ix_kudos_send_sender_id_sent_at", "kudos_send", ["sender_id", "sent_at"], unique=False
    )
    cutoff = datetime.now(UTC) - timedelta(days=2)
    # SQLite keeps naive UTC (as kudos.db.UTCDateTime writes it); PostgreSQL keeps the zone.
    if op.get_bind().dialect.name == "sqlite":
        cutoff = cutoff.replace(tzinfo=None)
    op.execute(
        sa.text(
            "INSERT INTO kudos_send (sender_id, sent_at) "
            "SELECT sender_id, created_at FROM kudos WHERE created_at >= :cutoff"
        ).bindparams(sa.bindparam("cutoff", cutoff, type_=sa.DateTime(timezone=True)))
    )


def downgrade() -> None:
    op.drop_index("ix_kudos_send_sender_id_sent_at", table_name="kudos_send")
    op.drop_table("kudos_send")
