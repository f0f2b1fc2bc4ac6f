"""The admin console: moved addresses, where profile fields came from, the
last sign-in, and telling reporters what became of their reports.

``former_slug`` keeps the old slug of a renamed or merged value, team or
department. ``person.profile_sources`` says which source (directory import,
sign-in claims, an admin) last set each profile field; people already there
start with none recorded. ``kudos_report.reporter_told_at`` is set when the
reporter has been shown the outcome; reports already resolved count as told,
so nobody is told today about a decision of months ago.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UNTOLD = "resolved_at IS NOT NULL AND reporter_told_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "former_slug",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("slug", sa.String(length=140), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('value', 'team', 'department')", name=op.f("ck_former_slug_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_former_slug")),
        sa.UniqueConstraint("kind", "slug", name=op.f("uq_former_slug_kind_slug")),
    )
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("profile_sources", sa.JSON(), server_default="{}", nullable=False)
        )
    with op.batch_alter_table("kudos_report") as batch:
        batch.add_column(sa.Column("reporter_told_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE kudos_report SET reporter_told_at = resolved_at WHERE resolved_at IS NOT NULL"
    )
    op.create_index(
        "ix_kudos_report_untold",
        "kudos_report",
        ["reporter_id"],
        postgresql_where=sa.text(UNTOLD),
        sqlite_where=sa.text(UNTOLD),
    )


def downgrade() -> None:
    op.drop_index("ix_kudos_report_untold", table_name="kudos_report")
    with op.batch_alter_table("kudos_report") as batch:
        batch.drop_column("reporter_told_at")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("profile_sources")
        batch.drop_column("last_sign_in_at")
    op.drop_table("former_slug")
