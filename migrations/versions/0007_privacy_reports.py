"""Reports of kudos for moderators, and past kudos follow recipients' audiences.

``kudos_report`` holds what people report for moderation, open until an admin
hides the kudos or dismisses the reports. The stored ``kudos.visibility`` is
recomputed once from each recipient's current audience: before this release
a recipient who narrowed their audience left the kudos they had already
received as visible as before. Downgrading keeps the stricter visibility.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The most restrictive of the sender's choice and each recipient's audience
# (no preference: public), as ``recognition.services.refresh_visibility``.
RECIPIENTS_WANT = (
    "EXISTS (SELECT 1 FROM recognition r JOIN recognition_preference p "
    "ON p.person_id = r.recipient_id WHERE r.kudos_id = kudos.id AND p.audience = '{}')"
)
EFFECTIVE = (
    "CASE WHEN kudos.requested_visibility = 'private' OR {private} THEN 'private' "
    "WHEN kudos.requested_visibility = 'team' OR {team} THEN 'team' ELSE 'public' END"
).format(private=RECIPIENTS_WANT.format("private"), team=RECIPIENTS_WANT.format("team"))


def upgrade() -> None:
    op.create_table(
        "kudos_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kudos_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('hidden', 'dismissed')",
            name=op.f("ck_kudos_report_resolution"),
        ),
        sa.ForeignKeyConstraint(
            ["kudos_id"],
            ["kudos.id"],
            name=op.f("fk_kudos_report_kudos_id_kudos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["person.id"],
            name=op.f("fk_kudos_report_reporter_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["person.id"],
            name=op.f("fk_kudos_report_resolved_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kudos_report")),
    )
    op.create_index(op.f("ix_kudos_report_kudos_id"), "kudos_report", ["kudos_id"])
    op.create_index(op.f("ix_kudos_report_reporter_id"), "kudos_report", ["reporter_id"])
    op.create_index(
        "ix_kudos_report_open",
        "kudos_report",
        ["kudos_id", "reporter_id"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
        sqlite_where=sa.text("resolved_at IS NULL"),
    )
    op.execute(
        f"UPDATE kudos SET visibility = {EFFECTIVE} WHERE visibility <> {EFFECTIVE}"  # noqa: S608 - constants only
    )


def downgrade() -> None:
    op.drop_index("ix_kudos_report_open", table_name="kudos_report")
    op.drop_index(op.f("ix_kudos_report_reporter_id"), table_name="kudos_report")
    op.drop_index(op.f("ix_kudos_report_kudos_id"), table_name="kudos_report")
    op.drop_table("kudos_report")
