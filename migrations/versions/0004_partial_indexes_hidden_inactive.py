"""Partial indexes on hidden kudos and people who left.

The manager's summary leaves both out of its aggregates with
``NOT IN (the few hidden kudos / inactive people)``, read from these small
indexes instead of looking up every recognition's kudos and people.

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


def downgrade() -> None:
    op.drop_index("ix_person_inactive", table_name="person")
    op.drop_index("ix_kudos_hidden", table_name="kudos")
