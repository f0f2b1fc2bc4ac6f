"""Partial indexes on hidden kudos, people who left and leaderboard opt-outs.

The manager's summary leaves hidden kudos and inactive people out of its
aggregates with ``NOT IN (the few hidden kudos / inactive people)``, and a
leaderboard rank outside the top list leaves out inactive people and people
who opted out. These small indexes find those few without reading the whole
table (a 26 ms sequential scan of 100,000 people before).

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
        "ix_kudos_hidden",
        "kudos",
        ["id"],
        postgresql_where=sa.text("hidden_at IS NOT NULL"),
        sqlite_where=sa.text("hidden_at IS NOT NULL"),
    )
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
    op.drop_index(
        "ix_recognition_preference_person_id_opted_out", table_name="recognition_preference"
    )
    op.drop_index("ix_person_inactive", table_name="person")
    op.drop_index("ix_kudos_hidden", table_name="kudos")
