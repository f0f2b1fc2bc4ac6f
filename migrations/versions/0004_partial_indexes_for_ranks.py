"""Partial indexes on the people who left and on leaderboard opt-outs.

A leaderboard rank outside the top list leaves out inactive people and
people who opted out; without these indexes finding those few meant reading
the whole directory (26 ms at 100,000 people).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_person_inactive",
        "person",
        ["id"],
        postgresql_where=sa.text("NOT active"),
        sqlite_where=sa.text("NOT active"),
    )
    op.create_index(
        "ix_recognition_preference_person_id_opted_out",
        "recognition_preference",
        ["person_id"],
        postgresql_where=sa.text("NOT on_leaderboards"),
        sqlite_where=sa.text("NOT on_leaderboards"),
    )


def downgrade() -> None:
    op.drop_index("ix_recognition_preference_person_id_opted_out", "recognition_preference")
    op.drop_index("ix_person_inactive", "person")
