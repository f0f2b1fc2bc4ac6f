"""The page cache's generation token, and an index of unseen recognitions.

``cache_generation`` holds one row whose random token changes with every
change that leaderboards and summaries show (see ``kudos/cache.py``).
``ix_recognition_unacknowledged`` holds only the recognitions not yet shown
to their recipient, which every page view looks for.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    generation = op.create_table(
        "cache_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_generation")),
    )
    op.bulk_insert(generation, [{"id": 1, "token": secrets.token_hex(16)}])
    op.create_index(
        "ix_recognition_unacknowledged",
        "recognition",
        ["recipient_id"],
        postgresql_where=sa.text("acknowledged_at IS NULL"),
        sqlite_where=sa.text("acknowledged_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_recognition_unacknowledged", table_name="recognition")
    op.drop_table("cache_generation")
