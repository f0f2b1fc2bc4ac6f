"""Kudos cards rendered once for every viewer: ``kudos.revision`` changes
with anything a card shows, and ``directory_generation`` holds one row whose
random token changes with the people's and values' names cards show (see
``kudos/recognition/card_versions.py``).

Kudos already there start at revision 0: their ids are never given again.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kudos") as batch:
        batch.add_column(sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False))
    generation = op.create_table(
        "directory_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_generation")),
    )
    op.bulk_insert(generation, [{"id": 1, "token": secrets.token_hex(16)}])


def downgrade() -> None:
    op.drop_table("directory_generation")
    with op.batch_alter_table("kudos") as batch:
        batch.drop_column("revision")
